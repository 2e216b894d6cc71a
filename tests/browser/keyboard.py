"""Moving through a page with the keyboard alone, as someone without a mouse does."""

from __future__ import annotations

from typing import Any

MAX_TABS = 150
# Where the keyboard's focus is: on the button, on the closed fold that hides it, elsewhere.
FOCUS_STATE = """button => {
  const el = document.activeElement;
  if (el === button) return "button";
  const fold = el && el.tagName === "SUMMARY" ? el.parentElement : null;
  return fold && !fold.open && fold.contains(button) ? "fold" : "";
}"""


def tabs_to(page: Any, button: Any) -> int | None:
    """How many Tab presses from the top of the page reach `button` (opening, with Enter,
    a fold it is in, as a keyboard user would); None if it is never reached."""
    handle = button.element_handle()
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE, handle)
        if state == "button":
            return presses
        if state == "fold":
            page.keyboard.press("Enter")
    return None
