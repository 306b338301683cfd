// The host page: ask our own back end for a connect token, then open Weir in the chosen mode.
window.weirEvents = [];

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
  var options = {
    token: body.token,
    mode: mode,
    container: "#inline-slot",
    popupWidth: 500,
    popupHeight: 720,
    fallbackToRedirect: true,
    onEvent: logEvent,
    onSuccess: function (event) { console.log("connected", event.connectionId); },
    onError: function (event) { console.warn("connect error", event.code); },
    onClose: function () { console.log("closed"); }
  };
  for (var key in extra || {}) options[key] = extra[key];
  window.weirHandle = Weir.connect(options);
  return window.weirHandle;
}

document.querySelectorAll("[data-mode]").forEach(function (button) {
  button.addEventListener("click", function () { startConnect(button.getAttribute("data-mode")); });
});
