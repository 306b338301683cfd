/*! Weir connect widget v1 | Apache-2.0 */
(function (window, document) {
  "use strict";

  var MODES = ["modal", "inline", "popup", "redirect"];
  var current = document.currentScript;
  var scriptOrigin = current && current.src ? new URL(current.src).origin : "";

  function resolveElement(container) {
    if (!container) return null;
    if (typeof container === "string") return document.querySelector(container);
    return container.nodeType === 1 ? container : null;
  }

  function connect(options) {
    options = options || {};
    var mode = options.mode || "modal";
    var base = options.baseUrl ? new URL(options.baseUrl).origin : scriptOrigin;
    var weirOrigin = base;
    var win = null;        // the window we talk to: the iframe's or the popup's
    var frame = null;
    var overlay = null;
    var closed = false;
    var finished = false;
    var readyTimer = null;
    var pollTimer = null;
    var left = false;      // the popup went to a provider
    var lastFocus = document.activeElement;
    var step = "loading";  // the furthest step reached, reported when the flow closes


    function emit(type, detail) {
      if (type !== "close" && type !== "error") step = type;
      var event = { type: type };
      for (var key in detail || {}) event[key] = detail[key];
      var handlers = {
        success: options.onSuccess, error: options.onError, close: options.onClose
      };
      try { if (options.onEvent) options.onEvent(event); } catch (e) { setTimeout(function () { throw e; }); }
      try { if (handlers[type]) handlers[type](event); } catch (e) { setTimeout(function () { throw e; }); }
    }

    function fail(code, message) {
      if (closed) return;
      emit("error", { code: code, message: message || code });
    }

    function pageUrl(pageMode) {
      var nav = window.navigator;
      return base + "/connect?token=" + encodeURIComponent(options.token) +
        "&mode=" + pageMode + "&origin=" + encodeURIComponent(window.location.origin) +
        "&locale=" + encodeURIComponent(options.locale || (nav.languages || [nav.language]).join(","));
    }

    function post(message) {
      message.weir = 1;
      if (win) win.postMessage(message, weirOrigin);
    }

    function onMessage(event) {
      // Only the Weir page we opened, from Weir's exact origin, is listened to.
      if (event.origin !== weirOrigin || !win || event.source !== win) return;
      var data = event.data;
      if (!data || data.weir !== 1 || typeof data.type !== "string") return;
      if (data.type === "ready") {
        clearTimeout(readyTimer);
        var title = options.title || String(data.title || "") || frame && frame.title;
        if (frame) frame.title = title;
        if (overlay) { overlay.setAttribute("aria-label", title); frame.focus(); }
        post({ type: "init", mode: mode });
        emit("open", { mode: mode });
      } else if (data.type === "resize" && frame && mode === "inline") {
        frame.style.height = Math.max(80, Math.min(+data.height || 0, 4000)) + "px";
      } else if (data.type === "integration_selected" || data.type === "oauth_started") {
        if (data.type === "oauth_started") left = true;
        emit(data.type, { integration: String(data.integration || "") });
      } else if (data.type === "form_error") {
        emit("form_error", { integration: String(data.integration || ""),
          fields: [].concat(data.fields || []).map(String), message: String(data.message || "") });
      } else if (data.type === "success") {
        finished = true;
        var account = data.account && typeof data.account === "object" ? data.account : {};
        emit("success", { connectionId: String(data.connectionId), sessionId: String(data.sessionId),
          integration: data.integration ? String(data.integration) : null,
          account: { displayName: account.displayName ? String(account.displayName) : null,
                     externalId: account.externalId ? String(account.externalId) : null } });
      } else if (data.type === "error") {
        fail(String(data.code || "UNKNOWN"), String(data.message || ""));
      } else if (data.type === "close") {
        close();
      }
    }

    function onKey(event) {
      if (event.key === "Escape" && overlay) close();
    }

    function close() {
      if (closed) return;
      closed = true;
      clearTimeout(readyTimer);
      clearInterval(pollTimer);
      clearTimeout(pollTimer);
      window.removeEventListener("message", onMessage);
      document.removeEventListener("keydown", onKey, true);
      if (overlay && overlay.parentNode) overlay.parentNode.removeChild(overlay);
      if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
      if (overlay) document.documentElement.style.overflow = overlay.previousOverflow;
      if (win && mode === "popup" && !win.closed) win.close();
      if (overlay && lastFocus && lastFocus.focus) lastFocus.focus();
      emit("close", { completed: finished, step: step });
    }

    function ask() {
      return fetch(base + "/connect/check", { method: "POST", body: options.token, mode: "cors",
        credentials: "omit", headers: { "Content-Type": "text/plain" } })
        .then(function (r) { return r.json(); });
    }

    function check() {
      // Ask Weir first, so a refused frame or a dead token becomes a clear error event.
      return ask().then(function (result) {
        if (!result.ok) { fail(result.code); close(); }
      }, function () { fail("NETWORK_ERROR", "Weir could not be reached"); close(); });
    }

    // A provider's COOP makes an open popup read closed: the session's status decides.
    function follow(since) {
      if (closed) return;
      ask().then(function (result) {
        if (closed) return;
        if (result.status === "COMPLETED" && result.connectionId) {
          if (!finished) {
            finished = true;
            emit("success", { connectionId: String(result.connectionId), sessionId: String(result.sessionId) });
          }
          close();
        } else if (result.status === "FAILED" || result.status === "EXPIRED") {
          fail(result.errorCode || (result.status === "EXPIRED" ? "TOKEN_EXPIRED" : "OAUTH_ERROR"));
          close();
        } else if (left && Date.now() - since < (options.popupFollowMs || 300000)) {
          pollTimer = setTimeout(function () { follow(since); }, 1000);
        } else {
          close();
        }
      }, function () { pollTimer = setTimeout(function () { follow(since); }, 2000); });
    }

    function makeFrame(pageMode) {
      frame = document.createElement("iframe");
      frame.src = pageUrl(pageMode);
      frame.title = options.title || "Connect an account";
      frame.setAttribute("allow", "clipboard-write");
      frame.style.cssText = "border:0;width:100%;display:block;background:transparent;color-scheme:normal";
      readyTimer = setTimeout(function () { fail("LOAD_FAILED", "The connect page did not load"); close(); },
        options.timeout || 15000);
      return frame;
    }

    function openModal() {
      overlay = document.createElement("div");
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", options.title || "Connect an account");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;" +
        "justify-content:center;background:rgba(15,23,42,.55);padding:16px;box-sizing:border-box";
      var box = makeFrame("modal");
      box.style.cssText += ";width:min(440px,100%);height:min(660px,100%);border-radius:14px;" +
        "box-shadow:0 20px 60px rgba(0,0,0,.35);background:#fff";
      overlay.appendChild(box);
      overlay.addEventListener("click", function (event) { if (event.target === overlay) close(); });
      overlay.previousOverflow = document.documentElement.style.overflow;
      document.documentElement.style.overflow = "hidden";
      document.body.appendChild(overlay);
      document.addEventListener("keydown", onKey, true);
      win = box.contentWindow;
      box.addEventListener("load", function () { box.focus(); });
    }

    function openInline() {
      var container = resolveElement(options.container);
      if (!container) { fail("INVALID_OPTIONS", "inline mode needs a container element"); return false; }
      var box = makeFrame("inline");
      box.style.height = (options.height || 560) + "px";
      container.appendChild(box);
      win = box.contentWindow;
      return true;
    }

    function openPopup() {
      var w = options.popupWidth || 480, h = options.popupHeight || 680;
      var left = Math.max(0, (window.screenX || 0) + (window.outerWidth - w) / 2);
      var top = Math.max(0, (window.screenY || 0) + (window.outerHeight - h) / 2);
      win = window.open(pageUrl("popup"), "weir-connect",
        "popup=yes,width=" + w + ",height=" + h + ",left=" + left + ",top=" + top);
      if (!win) {
        if (options.fallbackToRedirect === false) {
          fail("POPUP_BLOCKED", "The browser blocked the popup");
          closed = true;
          window.removeEventListener("message", onMessage);
        } else {
          // Continue in this tab; it returns here when the session has no redirectUri.
          window.location.assign(pageUrl("redirect") + "&return=" + encodeURIComponent(window.location.href));
        }
        return false;
      }
      pollTimer = setInterval(function () {
        if (!win.closed) return;
        clearInterval(pollTimer);
        if (finished) close(); else follow(Date.now());
      }, 400);
      return true;
    }

    if (!options.token) { fail("INVALID_OPTIONS", "token is required"); return { close: function () {} }; }
    if (MODES.indexOf(mode) < 0) { fail("INVALID_OPTIONS", "unknown mode " + mode); return { close: function () {} }; }
    if (!base) { fail("INVALID_OPTIONS", "baseUrl is required when weir.js is not loaded from Weir"); return { close: function () {} }; }

    if (mode === "redirect") {
      window.location.assign(pageUrl("redirect"));
      return { close: function () {} };
    }
    window.addEventListener("message", onMessage);
    var opened = mode === "modal" ? (openModal(), true) : mode === "inline" ? openInline() : openPopup();
    if (opened) check(); else window.removeEventListener("message", onMessage);
    return { close: close };
  }

  window.Weir = { connect: connect, version: "1" };
})(window, document);
