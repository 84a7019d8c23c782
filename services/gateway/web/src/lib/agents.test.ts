import { describe, expect, it } from "vitest";
import { agentName } from "./agents";

describe("agentName", () => {
  it("names an agent as the registry does", () => {
    expect(agentName("ceo_copilot")).toBe("CEO CoPilot");
    expect(agentName("prd")).toBe("PRD");
    expect(agentName("dev_backend")).toBe("Backend developer");
  });
  it("reads an unknown key as words", () => {
    expect(agentName("night_watch")).toBe("night watch");
  });
});
