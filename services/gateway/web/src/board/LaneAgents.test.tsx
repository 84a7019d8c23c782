import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { LaneAgents } from "./BoardPage";

const agent = (name: string, enabled: boolean) =>
  ({ agent: name, display_name: name, enabled, lanes: [5], model: "gpt-5", overridden: false, provider: "openai" });

describe("LaneAgents", () => {
  it("lists each agent the lane runs and marks the ones turned off", () => {
    const html = renderToStaticMarkup(<LaneAgents agents={[agent("Backend developer", true), agent("Frontend developer", false)]} />);
    expect(html).toContain('aria-label="Agents of this lane"');
    expect(html).toMatch(/class="lane-agent" title="Backend developer runs here \(openai \/ gpt-5\)"[^>]*>Backend developer</);
    expect(html).toMatch(/class="lane-agent off" title="Frontend developer is turned off"[^>]*>Frontend developer \(off\)</);
  });
  it("shows nothing for a lane without agents", () => {
    expect(renderToStaticMarkup(<LaneAgents agents={[]} />)).toBe("");
  });
});
