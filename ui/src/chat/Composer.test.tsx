import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { Composer } from "./Composer";

function setup(streaming = false) {
  const onSend = vi.fn();
  const onStop = vi.fn();
  render(
    <Composer
      streaming={streaming}
      stopping={false}
      useDocuments={false}
      onUseDocumentsChange={vi.fn()}
      onSend={onSend}
      onStop={onStop}
    />,
  );
  return { onSend, onStop, input: screen.getByTestId("composer-input") };
}

describe("Composer keyboard", () => {
  it("sends on Enter and clears the box", async () => {
    const user = userEvent.setup();
    const { onSend, input } = setup();
    await user.type(input, "Hello{Enter}");
    expect(onSend).toHaveBeenCalledWith("Hello");
    expect(input).toHaveValue("");
  });

  it("adds a line on Shift+Enter without sending", async () => {
    const user = userEvent.setup();
    const { onSend, input } = setup();
    await user.type(input, "one{Shift>}{Enter}{/Shift}two");
    expect(onSend).not.toHaveBeenCalled();
    expect(input).toHaveValue("one\ntwo");
  });

  it("does not send while an input method is composing", () => {
    const { onSend, input } = setup();
    fireEvent.change(input, { target: { value: "日本" } });
    fireEvent.keyDown(input, { key: "Enter", isComposing: true });
    expect(onSend).not.toHaveBeenCalled();
  });

  it("does not send empty text", async () => {
    const user = userEvent.setup();
    const { onSend, input } = setup();
    await user.type(input, "   {Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByTestId("send-button")).toBeDisabled();
  });

  it("stops on Esc while a reply streams, and shows Stop instead of Send", async () => {
    const user = userEvent.setup();
    const { onStop, onSend, input } = setup(true);
    expect(screen.queryByTestId("send-button")).not.toBeInTheDocument();
    await user.type(input, "next{Enter}");
    expect(onSend).not.toHaveBeenCalled();
    await user.keyboard("{Escape}");
    expect(onStop).toHaveBeenCalledTimes(1);
    await user.click(screen.getByTestId("stop-button"));
    expect(onStop).toHaveBeenCalledTimes(2);
  });
});
