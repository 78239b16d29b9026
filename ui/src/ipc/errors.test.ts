import { CommandError, toCommandError } from "./errors";

describe("toCommandError", () => {
  it("keeps the shell's {code, message}", () => {
    const error = toCommandError({ code: "invalid_provider", message: "bad choice" });
    expect(error).toBeInstanceOf(CommandError);
    expect(error.code).toBe("invalid_provider");
    expect(error.message).toBe("bad choice");
  });

  it("files failures of the IPC layer itself under `ipc`", () => {
    expect(toCommandError("Command doctor_report not allowed")).toMatchObject({
      code: "ipc",
      message: "Command doctor_report not allowed",
    });
    expect(toCommandError(new TypeError("no Tauri host"))).toMatchObject({
      code: "ipc",
      message: "no Tauri host",
    });
    expect(toCommandError(42).code).toBe("ipc");
  });
});
