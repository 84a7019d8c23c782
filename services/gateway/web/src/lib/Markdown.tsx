import ReactMarkdown from "react-markdown";
import remarkGfm from "remark-gfm";

/** Markdown written by agents or people, rendered without any raw HTML (agent output is untrusted) and with
 * react-markdown's safe link handling (no javascript: URLs). */
export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]} skipHtml>
        {text}
      </ReactMarkdown>
    </div>
  );
}
