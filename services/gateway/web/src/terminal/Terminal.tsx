import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState } from "react";
import { linesOf, MarkerLog, onClose, RunAgents, statusMarker, TerminalCursor, terminalUrl, type TerminalMessage } from "./resume";
import { hasTranscript, Transcripts, type AgentTranscripts } from "./transcript";
import { AgentTranscript, RAW_LOG, TranscriptTabs } from "./TranscriptView";

export type RunState = { runId: string; status: string };

/** The card's live terminal: a transcript tab per agent (prose and tool calls of tool-using runs, skipped runs'
 * reasons) and the raw log; history first, then live; resumes exactly after a dropped connection. */
export function CardTerminal(props: { cardId: string; onStatus?: (state: RunState) => void; onStep?: () => void }) {
  const { cardId, onStatus, onStep } = props;
  const host = useRef<HTMLDivElement>(null);
  const [connection, setConnection] = useState("Connecting…");
  const [agents, setAgents] = useState<AgentTranscripts[]>([]);
  const [chosen, setChosen] = useState<string | null>(null);
  const statusCallback = useRef(onStatus);
  statusCallback.current = onStatus;
  const stepCallback = useRef(onStep);
  stepCallback.current = onStep;

  useEffect(() => {
    const element = host.current;
    if (!element) return undefined;
    const terminal = new Terminal({
      convertEol: true,
      disableStdin: true,
      fontSize: 13,
      scrollback: 10_000,
      theme: { background: "#0f1722", foreground: "#d8e1ec" },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(element);
    const refit = () => {
      try {
        fit.fit();
      } catch {
        // not laid out yet
      }
    };
    refit();
    const observer = new ResizeObserver(refit);
    observer.observe(element);

    const cursor = new TerminalCursor();
    const transcripts = new Transcripts();
    const markers = new MarkerLog();
    const runAgents = new RunAgents();
    let socket: WebSocket | null = null;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let disposed = false;

    const handle = (message: TerminalMessage) => {
      runAgents.learn(message);
      for (const line of linesOf(message)) {
        if (cursor.accept(line)) terminal.writeln(runAgents.render(line));
      }
      if ((message.type === "step" || message.type === "status") && transcripts.accept(message)) {
        setAgents(transcripts.byAgent());
        if (message.type === "step") stepCallback.current?.(); // its effects (documents, children) may be in
      }
      if (message.type === "status") {
        statusCallback.current?.({ runId: message.run_id, status: message.status });
        const marker = statusMarker(message);
        if (marker && markers.first(message)) terminal.writeln(marker);
      }
    };

    const connect = () => {
      socket = new WebSocket(terminalUrl(window.location, cardId, cursor.after(), transcripts.cursor()));
      socket.onopen = () => {
        attempt = 0;
        setConnection("Live");
      };
      socket.onmessage = (event) => handle(JSON.parse(String(event.data)) as TerminalMessage);
      socket.onclose = (event) => {
        if (disposed) return;
        const decision = onClose(event.code, attempt);
        setConnection(decision.message);
        if (!decision.retry) return;
        attempt += 1;
        timer = setTimeout(connect, decision.delayMs);
      };
    };
    connect();

    setAgents([]);
    return () => {
      disposed = true;
      clearTimeout(timer);
      socket?.close(1000, "closed");
      observer.disconnect();
      terminal.dispose();
    };
  }, [cardId]);

  const tab = chosen ?? (hasTranscript(agents) ? agents[0]!.agent : RAW_LOG);
  const shown = agents.find((a) => a.agent === tab);
  return (
    <div className="terminal">
      <div className="terminal-bar">
        <span>Terminal</span>
        <span className={connection === "Live" ? "live" : "muted"} data-testid="terminal-state">
          {connection}
        </span>
      </div>
      <TranscriptTabs agents={agents} selected={tab} onSelect={setChosen} />
      {shown ? <AgentTranscript transcripts={shown} /> : null}
      <div ref={host} className="terminal-screen" data-testid="terminal" hidden={tab !== RAW_LOG} />
    </div>
  );
}
