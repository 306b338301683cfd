// The host page: ask our own back end for a connect token, then open Weir in the chosen mode
// with the @weir/connect package: `await connect(...)` resolves with the connection.
import { connect } from "/vendor/weir-connect.js";

window.weirEvents = [];
window.weirResults = [];

function logEvent(event) {
  window.weirEvents.push(event);
  var item = document.createElement("li");
  item.textContent = JSON.stringify(event);
  document.getElementById("events").appendChild(item);
}

async function startConnect(mode, extra) {
  var integration = document.getElementById("integration").value.trim();
  var response = await fetch("/api/connect-session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ mode: mode, integration: integration || null })
  });
  var body = await response.json();
  if (!response.ok) { logEvent({ type: "host_error", message: body.error }); return null; }
  var controller = new AbortController();
  var options = {
    token: body.token,
    mode: mode,
    container: "#inline-slot",
    popupWidth: 500,
    popupHeight: 720,
    fallbackToRedirect: true,
    onEvent: logEvent,
    signal: controller.signal
  };
  for (var key in extra || {}) options[key] = extra[key];
  window.weirHandle = { close: function () { controller.abort(); } };
  connect(options).then(function (connection) {
    console.log("connected", connection.connectionId, connection.integration);
    window.weirResults.push({ ok: true, connection: connection });
  }, function (error) {
    console.warn("connect error", error.code, "at step", error.step);
    window.weirResults.push({ ok: false, name: error.name, code: error.code, step: error.step });
  });
  return window.weirHandle;
}

window.logEvent = logEvent;
window.startConnect = startConnect;
document.querySelectorAll("[data-mode]").forEach(function (button) {
  button.addEventListener("click", function () { startConnect(button.getAttribute("data-mode")); });
});
