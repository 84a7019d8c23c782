import { describe, expect, it } from "vitest";
import { reasonLabel, runReason } from "./runReasons";

describe("runReason", () => {
  it("names each way an agent does not run, then the sentence the orchestrator wrote", () => {
    expect(runReason("skipped", "circuit_open", "openai keeps failing.")).toBe("provider failing: openai keeps failing.");
    expect(runReason("skipped", "provider_not_configured", "No provider.")).toBe("provider not configured: No provider.");
    expect(runReason("skipped", "quota_exceeded", "Try later.")).toBe("hourly run quota reached: Try later.");
    expect(runReason("refused", "budget_exceeded", "Raise the cap.")).toBe("budget spent: Raise the cap.");
    expect(runReason("skipped", "disabled", "Off here.")).toBe("turned off: Off here.");
  });
  it("gives a failure's own code in words and says nothing of runs that ran or are running", () => {
    expect(runReason("failed", "malformed_output", "Still malformed.")).toBe("malformed output: Still malformed.");
    expect(runReason("completed", null, null)).toBeNull();
    expect(runReason("running", null, null)).toBeNull();
    expect(runReason("cancelled", null, "cancelled")).toBeNull();
    expect(reasonLabel(null)).toBeNull();
  });
});
