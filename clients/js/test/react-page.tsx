// Test page for useWeirConnect (tests/browser/test_js_package.py bundles it with esbuild).
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { useWeirConnect } from "../src/react";

function App({ token }: { token: string }) {
  const { open, close, status, connection, error, events } = useWeirConnect({ token, mode: "modal" });
  return h("div", { id: "react-app" },
    h("button", { id: "react-open", onClick: () => { void open(); } }, "Connect"),
    h("button", { id: "react-close", onClick: close }, "Stop"),
    h("output", { id: "react-status" }, status),
    h("pre", { id: "react-result" }, JSON.stringify(
      connection ?? (error ? { name: error.name, code: error.code, step: error.step } : null))),
    h("pre", { id: "react-events" }, JSON.stringify(events.map((event) => event.type))));
}

(window as unknown as { mountWeirReact: (token: string) => void }).mountWeirReact = (token: string) => {
  const slot = document.createElement("div");
  document.body.prepend(slot);
  createRoot(slot).render(h(App, { token }));
};
