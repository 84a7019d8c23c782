import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import CodeDiff, { filesOf, registeredGrammars, tokensOf } from "./CodeDiff";
import { GRAMMAR_BY_EXTENSION } from "./codeView";

const DIFF = `diff --git a/slug.py b/slug.py
new file mode 100644
index 0000000..3b18e51
--- /dev/null
+++ b/slug.py
@@ -0,0 +1,2 @@
+def slug(text: str) -> str:
+    return "<b>" + text.lower()
diff --git a/README b/README
index 1111111..2222222 100644
--- a/README
+++ b/README
@@ -1,2 +1,2 @@
 # Shop
-old line
+new line
`;

describe("the diff view", () => {
  it("registers every grammar the helpers name", () => {
    const registered = new Set(registeredGrammars());
    for (const grammar of Object.values(GRAMMAR_BY_EXTENSION)) expect(registered).toContain(grammar);
  });

  it("reads each file of a git diff", () => {
    const files = filesOf(DIFF) ?? [];
    expect(files.map((f) => [f.newPath, f.type])).toEqual([
      ["slug.py", "add"],
      ["README", "modify"],
    ]);
  });

  it("highlights a known language and leaves other files plain", () => {
    const [python, readme] = filesOf(DIFF) ?? [];
    expect(tokensOf(python!)).toBeDefined();
    expect(tokensOf(readme!)).toBeUndefined();
  });

  it("renders code as text, never as markup, in both layouts", () => {
    for (const viewType of ["unified", "split"] as const) {
      const html = renderToStaticMarkup(<CodeDiff diff={DIFF} viewType={viewType} />);
      expect(html).toContain("&lt;b&gt;");
      expect(html).not.toContain("<b>");
      expect(html).toContain('class="token keyword"');
      expect(html).toContain("new line");
    }
  });

  it("shows text that is not a git diff as text", () => {
    const html = renderToStaticMarkup(<CodeDiff diff={"<script>alert(1)</script>"} viewType="unified" />);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>");
  });
});
