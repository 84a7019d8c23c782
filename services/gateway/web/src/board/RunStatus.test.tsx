import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { RunStatus } from "./CardRuns";

describe("RunStatus", () => {
  it("shows in the run's row why a skipped or refused agent did not run", () => {
    const skipped = renderToStaticMarkup(
      <RunStatus run={{ status: "skipped", error_code: "provider_not_configured", reason: "No provider is configured for gpt-5." }} />,
    );
    expect(skipped).toContain(">skipped<");
    expect(skipped).toMatch(/data-testid="run-reason">provider not configured: No provider is configured for gpt-5.</);
    const refused = renderToStaticMarkup(
      <RunStatus run={{ status: "refused", error_code: "quota_exceeded", reason: "This workspace started 100 agent runs." }} />,
    );
    expect(refused).toContain("hourly run quota reached: This workspace started 100 agent runs.");
  });
  it("says nothing more for a run that completed", () => {
    const html = renderToStaticMarkup(<RunStatus run={{ status: "completed", error_code: null, reason: null }} />);
    expect(html).not.toContain("run-reason");
  });
});
