/* Weir hosted connect page. Plain JavaScript, no framework; data comes from #weir-data. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("weir-data").textContent);
  var app = document.getElementById("weir-app");
  var CONTEXT_KEY = "weir:connect";
  var CONSENT_WINDOW = "weir-consent";
  var params = new URLSearchParams(window.location.search);
  var token = params.get("token");
  if (token) {
    // Keep the connect token out of the address bar, history and any later Referer.
    window.history.replaceState(null, "", window.location.pathname);
  }
  var integrations = data.integrations || [];
  // Texts come from the language's catalog (widget/locales/<lang>.json), sent in #weir-data.
  var messages = data.messages || {};
  function t(key, values) {
    return String(messages[key] || key).replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }
  var selected = null;
  var consentPopup = null;
  var consentPoll = null;
  var hostWindow = data.mode === "popup" ? window.opener
    : (data.mode === "modal" || data.mode === "inline") ? window.parent : null;
  var hostReady = false;
  var firstView = true;
  var queued = [];

  // Storage can be refused (a third-party frame with storage blocked): never let that break the flow.
  function store(value) {
    try {
      if (value === null) window.sessionStorage.removeItem(CONTEXT_KEY);
      else window.sessionStorage.setItem(CONTEXT_KEY, JSON.stringify(value));
    } catch (e) { /* nothing to keep */ }
  }

  function stored() {
    try { return JSON.parse(window.sessionStorage.getItem(CONTEXT_KEY) || "{}") || {}; } catch (e) { return {}; }
  }

  // -- branding ------------------------------------------------------------------------
  var brand = data.workspace || {};
  var theme = (brand.theme || "LIGHT").toLowerCase();
  if (theme === "system") {
    theme = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.documentElement.setAttribute("data-theme", theme);
  document.documentElement.setAttribute("data-mode", data.mode || "page");
  if (brand.primaryColor) document.documentElement.style.setProperty("--weir-primary", brand.primaryColor);

  // -- talking to the host page (exact origin and window, both ways) -------------------
  function toHost(type, detail) {
    if (!hostWindow || !data.hostOrigin) return;
    var message = { weir: 1, type: type };
    for (var key in detail || {}) message[key] = detail[key];
    if (!hostReady && type !== "ready") { queued.push(message); return; }
    hostWindow.postMessage(message, data.hostOrigin);
  }

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (!message || message.weir !== 1) return;
    if (event.origin === data.hostOrigin && event.source === hostWindow && message.type === "init") {
      hostReady = true;
      queued.splice(0).forEach(function (m) { hostWindow.postMessage(m, data.hostOrigin); });
      // The modal just took focus: start on the dialog's heading unless the user has moved on.
      var heading = document.getElementById("weir-title");
      if (data.mode === "modal" && heading && (document.activeElement === document.body ||
          document.activeElement === heading)) heading.focus();
    } else if (event.origin === data.weirOrigin && consentPopup && event.source === consentPopup &&
               message.type === "consent_result") {
      finishConsent(false, { errorCode: typeof message.errorCode === "string" ? message.errorCode : null,
                             errorMessage: String(message.errorMessage || "") });
    }
  });

  // An inline frame fits its content: the card's own height (not the document's, which is
  // never less than the frame), sent whenever the card changes size.
  var lastHeight = 0;
  function reportHeight() {
    if (data.mode !== "inline") return;
    var height = Math.ceil(app.getBoundingClientRect().height);
    if (height && height !== lastHeight) { lastHeight = height; toHost("resize", { height: height }); }
  }
  if (data.mode === "inline" && window.ResizeObserver) new ResizeObserver(reportHeight).observe(app);

  // -- GraphQL with the connect token ---------------------------------------------------
  function gql(query, variables) {
    return fetch(data.graphqlUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": "Bearer " + token },
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (response) { return response.json(); }).then(function (body) {
      if (body.errors && body.errors.length) {
        var error = new Error(body.errors[0].message);
        error.code = (body.errors[0].extensions || {}).code;
        error.fields = (body.errors[0].extensions || {}).fields || [];
        throw error;
      }
      return body.data;
    });
  }

  var STATE_FIELDS = "status connectionId errorCode errorMessage redirectUrl";

  // -- rendering helpers ---------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) {
      if (attrs[key] === null || attrs[key] === undefined || attrs[key] === false) continue;
      if (key === "text") node.textContent = attrs[key];
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), attrs[key]);
      else node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
    }
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function header() {
    var children = [];
    if (brand.logoUrl) children.push(el("img", { src: brand.logoUrl, alt: "", class: "weir-logo" }));
    children.push(el("span", { class: "weir-brand", text: brand.displayName || t("brand") }));
    if (data.mode === "modal" || data.mode === "popup") {
      children.push(el("button", { type: "button", class: "weir-close", "aria-label": t("close"),
                                   onclick: closePage, text: "\u00d7" }));
    }
    return el("header", { class: "weir-header" }, children);
  }

  function show(title, body, focus, transient) {
    app.textContent = "";
    app.appendChild(header());
    var heading = el("h1", { id: "weir-title", tabindex: "-1", text: title });
    app.appendChild(el("section", { class: "weir-body", "aria-labelledby": "weir-title" },
      [heading].concat(body)));
    app.appendChild(el("footer", { class: "weir-footer", text: t("secured") }));
    // A modal's first view starts on its heading (the dialog's name); later views on their field.
    (firstView && data.mode === "modal" ? heading : focus || heading).focus();
    if (!transient) firstView = false;
    reportHeight();
  }

  function closePage() {
    if (data.mode === "popup") window.close();
    toHost("close");
  }

  function spinner(text) {
    show(text, [el("div", { class: "weir-spinner", role: "status", "aria-label": text })], null, true);
  }

  function categoryLabel(category) {
    if (category.length <= 3) return category;  // CRM, AI
    var words = category.toLowerCase().replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  // A logo that cannot load (a custom integration's host is down, a catalog entry without a
  // file) becomes a lettermark: never a broken-image icon.
  function logo(integration, className) {
    var label = integration.displayName || integration.name || "?";
    var mark = el("span", { class: className + " weir-mark", "aria-hidden": "true", text: label.charAt(0).toUpperCase() });
    var hue = 0;
    for (var i = 0; i < label.length; i++) hue = (hue * 31 + label.charCodeAt(i)) % 360;
    mark.style.backgroundColor = "hsl(" + (hue * 137 % 360) + " 45% 40%)";  // CSSOM: allowed by style-src 'self'
    if (!integration.logoUrl) return mark;
    var image = el("img", { src: integration.logoUrl, alt: "", class: className, width: "32", height: "32",
                            loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" });
    image.addEventListener("error", function () {
      if (image.parentNode) image.parentNode.replaceChild(mark, image);
    });
    return image;
  }

  // -- views ---------------------------------------------------------------------------
  // Past this many integrations the picker gets a search box and category chips.
  var SEARCH_FROM = 7;

  function plural(count) { return count === 1 ? t("count_one") : t("count_other", { n: count }); }

  // The picker is built once per visit and filtered by hiding rows, so typing stays instant
  // with a catalog of any size (no list is rebuilt per key).
  function showList() {
    var searchable = integrations.length >= SEARCH_FROM;
    var query = "";
    var category = "";
    var list = el("ul", { class: "weir-list", role: "list", id: "weir-results" });
    var rows = integrations.map(function (integration) {
      var button = el("button", {
        type: "button", class: "weir-int", "data-integration": integration.name,
        onclick: function () { choose(integration); }
      }, [logo(integration, "weir-int-logo"),
          el("span", { class: "weir-int-text" }, [
            // Names and descriptions are not translated: their own direction, in any layout.
            el("span", { class: "weir-int-name", dir: "auto", text: integration.displayName }),
            integration.description ? el("span", { class: "weir-int-desc", dir: "auto",
                                                    text: integration.description }) : null]),
          el("span", { class: "weir-int-cat", text: categoryLabel(integration.category) })]);
      var item = el("li", {}, [button]);
      list.appendChild(item);
      // A typed word matches anywhere in the names ("spot" finds HubSpot), and at the start of
      // a word of the description or category (so "d" does not match every "provider").
      var names = (integration.displayName + " " + integration.name).toLowerCase();
      var words = [integration.description || "", categoryLabel(integration.category), integration.category]
        .join(" ").toLowerCase().split(/[^a-z0-9]+/);
      return { integration: integration, item: item, button: button, names: names, words: words };
    });
    var count = el("p", { class: "weir-count", role: "status", "aria-live": "polite", id: "weir-count" });
    var emptyText = el("span", {});
    var showAll = el("button", { type: "button", class: "weir-link", text: t("show_all"),
                                 onclick: function () { reset(); if (search) search.focus(); } });
    var empty = el("p", { class: "weir-empty", hidden: true }, [emptyText, showAll]);

    function visibleButtons() {
      return rows.filter(function (row) { return !row.item.hidden; }).map(function (row) { return row.button; });
    }

    function apply() {
      var typed = query.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var visible = (!category || row.integration.category === category) &&
          typed.every(function (word) {
            return row.names.indexOf(word) >= 0 || row.words.some(function (w) { return w.indexOf(word) === 0; });
          });
        row.item.hidden = !visible;
        if (visible) shown++;
      });
      empty.hidden = shown > 0;
      emptyText.textContent = (!rows.length ? t("none_available")
        : t("no_match" + (query ? "_query" : "") + (category ? "_in" : ""),
            { query: query.trim(), category: categoryLabel(category) })) + " ";
      showAll.hidden = !rows.length;
      count.textContent = !shown ? t("no_results")
        : shown < rows.length ? t("count_of", { count: plural(shown), total: rows.length }) : plural(shown);
      reportHeight();
    }

    function reset() {
      query = "";
      if (search) search.value = "";
      pick("");
    }

    var body = [el("p", { class: "weir-muted", text: t("choose_account") })];
    var search = null;
    var chips = [];
    var chipValues = [];
    if (searchable) {
      search = el("input", { type: "search", id: "weir-search", class: "weir-input weir-search", autocomplete: "off",
                             spellcheck: "false", placeholder: t("search_placeholder"),
                             "aria-controls": "weir-results", "aria-describedby": "weir-count" });
      search.addEventListener("input", function () { query = search.value; apply(); });
      search.addEventListener("keydown", function (event) {
        var buttons = visibleButtons();
        if (event.key === "Escape" && (search.value || category)) {
          // Escape first clears the search; only an empty search lets it close the dialog.
          event.preventDefault();
          event.stopPropagation();
          reset();
        } else if (event.key === "ArrowDown" && buttons.length) {
          event.preventDefault();
          buttons[0].focus();
        } else if (event.key === "Enter" && buttons.length) {
          event.preventDefault();
          buttons[0].click();
        }
      });
      body.push(el("label", { for: "weir-search", class: "weir-label", text: t("search_label") }), search);
      var categories = [];
      integrations.forEach(function (i) { if (categories.indexOf(i.category) < 0) categories.push(i.category); });
      categories.sort(function (a, b) { return categoryLabel(a).localeCompare(categoryLabel(b)); });
      if (categories.length > 1) {
        chipValues = [""].concat(categories);
        chips = chipValues.map(function (value) {
          return el("button", { type: "button", class: "weir-chip", role: "radio", "data-category": value || "ALL",
                                onclick: function () { pick(value); }, text: value ? categoryLabel(value) : t("all") });
        });
        var group = el("div", { class: "weir-chips", role: "radiogroup", "aria-label": t("category") }, chips);
        // One tab stop for the group; arrows move through it (the radio group pattern).
        group.addEventListener("keydown", function (event) {
          var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
          var at = chips.indexOf(document.activeElement);
          if (!step && event.key === "Home") { step = -at; }
          if (!step && event.key === "End") { step = chips.length - 1 - at; }
          if (!step || at < 0) return;
          event.preventDefault();
          var next = chips[(at + step + chips.length) % chips.length];
          next.click();
          next.focus();
        });
        body.push(group);
      }
      body.push(count);
    }
    list.addEventListener("keydown", function (event) {
      var step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
      var buttons = visibleButtons();
      var at = buttons.indexOf(document.activeElement);
      if (!step || at < 0) return;
      event.preventDefault();
      if (at + step < 0) { if (search) search.focus(); return; }
      if (buttons[at + step]) buttons[at + step].focus();
    });

    function pick(value) {
      category = value;
      chips.forEach(function (chip, index) {
        var on = chipValues[index] === value;
        chip.setAttribute("aria-checked", on ? "true" : "false");
        chip.tabIndex = on ? 0 : -1;
      });
      apply();
    }

    body.push(list, empty);
    show(t("title"), body, search || undefined);
    pick("");
  }

  function choose(integration) {
    selected = integration;
    spinner(t("opening", { name: integration.displayName }));
    gql("mutation($n:String!){selectIntegration(input:{integrationName:$n}){" + STATE_FIELDS + "}}",
        { n: integration.name }).then(function () {
      toHost("integration_selected", { integration: integration.name });
      if (integration.oauth || !integration.formAuthType) showOAuth(integration); else showForm(integration);
    }, failed);
  }

  // With per-connection parameters (a shop, a subdomain) the sign-in button submits a form that
  // asks for them first: the provider's URLs are built from them. ``previous`` keeps what was
  // typed and the server's field errors when startOAuth refused the values.
  function showOAuth(integration, previous) {
    var fields = parameterFields(integration);
    var general = el("p", { class: "weir-error weir-general", role: "alert" });
    var button = el("button", { type: "submit", class: "weir-primary", "data-action": "oauth",
                                text: t("connect_with", { name: integration.displayName }) });
    var form = el("form", { class: "weir-form", novalidate: true },
      fields.map(fieldControl).concat([general, button]));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var read = readFields(form, fields);
      if (read.firstBad) { read.firstBad.focus(); return; }
      startOAuth(integration, read.values);
    });
    var other = integration.formAuthType ? el("button", { type: "button", class: "weir-link",
      onclick: function () { showForm(integration); }, text: t("use_api_key") }) : null;
    show(integration.displayName, [logo(integration, "weir-int-logo"),
      el("p", { class: "weir-muted", text: t("oauth_intro", { name: integration.displayName }) }), form, other, backLink()],
      firstInput(form) || button);
    if (previous) {
      restoreFields(form, previous.values);
      showServerErrors(form, previous.error, general, button);
    }
  }

  function backLink() {
    if (integrations.length < 2) return null;
    return el("button", { type: "button", class: "weir-link", onclick: showList, text: t("choose_another") });
  }

  function startOAuth(integration, values) {
    values = values || {};
    var framed = window.top !== window;
    if (framed) {
      // Providers refuse to be framed: consent opens in a popup that reports back to us.
      consentPopup = window.open("", CONSENT_WINDOW, "popup=yes,width=520,height=700");
      if (!consentPopup) {
        showError(t("popup_blocked"),
                  "POPUP_BLOCKED", function () { showOAuth(integration); });
        return;
      }
    } else {
      store({ token: token, mode: data.mode, hostOrigin: data.hostOrigin, returnUrl: data.returnUrl });
    }
    spinner(t("waiting", { name: integration.displayName }));
    // ``parameters`` is sent only when there are some, so a server without per-connection
    // parameters still answers every other integration.
    var withParameters = Object.keys(values).length > 0;
    gql(withParameters
          ? "mutation($p:Boolean!,$a:JSON){startOAuth(input:{consentInPopup:$p,parameters:$a}){authorizeUrl}}"
          : "mutation($p:Boolean!){startOAuth(input:{consentInPopup:$p}){authorizeUrl}}",
        withParameters ? { p: framed, a: values } : { p: framed })
      .then(function (result) {
        toHost("oauth_started", { integration: integration.name });
        // A consent window closed meanwhile must stay closed: a form aimed at its name would open another.
        if (framed && consentPopup.closed) { finishConsent(true); return; }
        var state = new URL(result.startOAuth.authorizeUrl).searchParams.get("state");
        goToProvider(framed ? CONSENT_WINDOW : "_self", state);
        if (framed) consentPoll = setInterval(function () { if (consentPopup.closed) finishConsent(true); }, 500);
      }, function (error) {
        if (consentPopup) consentPopup.close();
        if (error.code === "VALIDATION_FAILED") showOAuth(integration, { values: values, error: error });
        else failed(error);
      });
  }

  // The consent window reaches the provider through Weir's POST /oauth/authorize, a top-level
  // navigation: its answer sets the cookie that binds the flow to this browser (first-party even
  // when this page is a third-party frame), and the callback is refused without it.
  function goToProvider(target, state) {
    var form = el("form", { method: "POST", action: "/oauth/authorize", target: target, hidden: true }, [
      el("input", { type: "hidden", name: "token", value: token }),
      el("input", { type: "hidden", name: "state", value: state }),
      el("input", { type: "hidden", name: "locale", value: data.locale || "" })]);
    document.body.appendChild(form);
    form.submit();
    document.body.removeChild(form);
  }

  function finishConsent(windowClosed, reported) {
    clearInterval(consentPoll);
    gql("query{connectSessionState{" + STATE_FIELDS + "}}").then(function (result) {
      var state = result.connectSessionState;
      if (state.status === "COMPLETED") succeeded(state);
      else if (state.status === "FAILED") showError(state.errorMessage, state.errorCode, retry);
      // A refusal that left the session as it was (another browser's cookie, say) is reported
      // by the consent window itself.
      else if (reported && reported.errorCode) showError(reported.errorMessage, reported.errorCode, retry);
      else if (windowClosed) showError(t("window_closed"), "WINDOW_CLOSED", retry);
    }, failed);
  }

  function retry() {
    if (selected) choose(selected); else showList();
  }

  // -- forms generated from the auth-field and parameter JSON Schemas ---------------------
  function formFields(integration) {
    var type = integration.formAuthType;
    var schema = integration.authFieldsSchema;
    if (type === "SECRET_TEXT") {
      return [{ name: "secret_text", title: t("api_key"), secret: true, required: true, type: "string",
                help: t("api_key_help", { name: integration.displayName }) }];
    }
    if (type === "BASIC_AUTH" && !schema) {
      schema = { required: ["username", "password"], properties: {
        username: { type: "string", title: t("username") },
        password: { type: "string", title: t("password"), format: "password" } } };
    }
    if (!schema || !schema.properties) return [];
    var required = schema.required || [];
    return Object.keys(schema.properties).map(function (name) {
      var p = schema.properties[name];
      return { name: name, title: p.title || name, help: p.description, type: p.type || "string",
               required: required.indexOf(name) >= 0, enumValues: p["enum"], defaultValue: p["default"],
               secret: p.format === "password" || p.writeOnly === true || p["x-secret"] === true ||
                 p.airbyte_secret === true || secretName(name),
               pattern: p.pattern, minLength: p.minLength, maxLength: p.maxLength,
               minimum: p.minimum, maximum: p.maximum };
    });
  }

  // Per-connection parameters: strings, asked before the credentials. One the host preset on
  // the session is shown read-only and never sent again.
  function parameterFields(integration) {
    var schema = integration.parametersSchema;
    if (!schema || !schema.properties) return [];
    var required = schema.required || [];
    var preset = data.presetParameters || {};
    return Object.keys(schema.properties).map(function (name) {
      var p = schema.properties[name];
      var example = (p.examples || [])[0];
      var isPreset = Object.prototype.hasOwnProperty.call(preset, name);
      return { name: name, parameter: true, title: p.title || name, help: p.description, type: "string",
               required: !isPreset && required.indexOf(name) >= 0, enumValues: isPreset ? null : p["enum"],
               defaultValue: isPreset ? String(preset[name]) : p["default"], preset: isPreset,
               pattern: p.pattern, minLength: p.minLength, maxLength: p.maxLength,
               placeholder: example === undefined ? null : String(example),
               patternHelp: example === undefined ? null : t("pattern_help", { example: example }) };
    });
  }

  // The same rule as the server's vault: a field named like a secret is one.
  function secretName(name) {
    var lowered = name.toLowerCase();
    return ["password", "secret", "token", "api_key", "apikey", "private_key", "key"].some(function (part) {
      return lowered === part || lowered.slice(-(part.length + 1)) === "_" + part;
    });
  }

  function fieldControl(field) {
    // Parameters and credentials live in separate id spaces: a provider may use one name for both.
    var id = (field.parameter ? "weir-p-" : "weir-f-") + field.name;
    var control;
    var describedBy = id + "-error" + (field.help ? " " + id + "-help" : "");
    var common = { id: id, name: field.name, "aria-describedby": describedBy, required: field.required };
    if (field.enumValues) {
      control = el("select", Object.assign({ class: "weir-input" }, common),
        (field.required ? [] : [el("option", { value: "", text: "—" })]).concat(field.enumValues.map(function (v) {
          return el("option", { value: String(v), text: String(v), selected: v === field.defaultValue });
        })));
    } else if (field.type === "boolean") {
      control = el("input", Object.assign({ type: "checkbox", class: "weir-check", checked: field.defaultValue === true }, common));
    } else {
      control = el("input", Object.assign({
        class: "weir-input", autocomplete: field.secret ? "off" : "on", spellcheck: "false",
        type: field.secret ? "password" : (field.type === "integer" || field.type === "number") ? "number" : "text",
        value: field.defaultValue !== undefined ? String(field.defaultValue) : null,
        step: field.type === "integer" ? "1" : field.type === "number" ? "any" : null,
        pattern: field.preset ? null : field.pattern, placeholder: field.placeholder,
        readonly: field.preset
      }, common));
    }
    var label = field.preset ? t("set_by_app", { label: field.title })
      : field.required ? field.title : t("optional", { label: field.title });
    return el("div", { class: "weir-field", "data-field": field.parameter ? null : field.name,
                       "data-parameter": field.parameter ? field.name : null, "data-title": field.title }, [
      el("label", { for: id, text: label }),
      control,
      field.help ? el("p", { id: id + "-help", class: "weir-help", text: field.help }) : null,
      el("p", { id: id + "-error", class: "weir-error", "aria-live": "polite" })
    ]);
  }

  function fieldBox(form, name, parameter) {
    var attribute = parameter ? "data-parameter" : "data-field";
    var boxes = form.querySelectorAll("[" + attribute + "]");
    for (var i = 0; i < boxes.length; i++) if (boxes[i].getAttribute(attribute) === name) return boxes[i];
    return null;
  }

  function setFieldError(box, message) {
    box.querySelector(".weir-error").textContent = message || "";
    var control = box.querySelector("input,select");
    if (message) control.setAttribute("aria-invalid", "true"); else control.removeAttribute("aria-invalid");
  }

  function validate(field, raw) {
    if (field.type === "boolean") return null;
    if (raw === "" || raw === null) return field.required ? t("required") : null;
    if (field.type === "integer" && !/^-?\d+$/.test(raw)) return t("whole_number");
    if (field.type === "number" && isNaN(Number(raw))) return t("number");
    if (field.minimum !== undefined && Number(raw) < field.minimum) return t("min", { n: field.minimum });
    if (field.maximum !== undefined && Number(raw) > field.maximum) return t("max", { n: field.maximum });
    if (field.minLength && raw.length < field.minLength) return t("min_length", { n: field.minLength });
    if (field.maxLength && raw.length > field.maxLength) return t("max_length", { n: field.maxLength });
    if (field.pattern && !matches(field.pattern, raw)) {
      return field.patternHelp || t("bad_format");
    }
    return null;
  }

  // JSON Schema's pattern is unanchored, like JavaScript's RegExp.test. One the browser cannot
  // compile is left to the server to judge.
  function matches(pattern, raw) {
    try { return new RegExp(pattern).test(raw); } catch (e) { return true; }
  }

  // Checks every field; returns the values of the filled ones, split into parameters and
  // credentials, and the first control with a problem.
  function readFields(form, fields) {
    var result = { values: {}, credentials: {}, firstBad: null };
    fields.forEach(function (field) {
      if (field.preset) return;
      var box = fieldBox(form, field.name, field.parameter);
      var control = box.querySelector("input,select");
      var raw = field.type === "boolean" ? control.checked : control.value.trim();
      var problem = validate(field, raw);
      setFieldError(box, problem);
      if (problem && !result.firstBad) result.firstBad = control;
      if (raw === "" || raw === null) return;
      var target = field.parameter ? result.values : result.credentials;
      target[field.name] = field.type === "integer" || field.type === "number" ? Number(raw) : raw;
    });
    return result;
  }

  function restoreFields(form, values) {
    for (var name in values || {}) {
      var box = fieldBox(form, name, true);
      if (box) box.querySelector("input,select").value = values[name];
    }
  }

  function firstInput(form) {
    return form.querySelector("input:not([readonly]),select");
  }

  // VALIDATION_FAILED names fields as input.credentials.<name> or input.parameters.<name>:
  // each message goes next to its field, anything else above the button.
  function showServerErrors(form, error, general, submit) {
    var focusTarget = null;
    toHost("form_error", { integration: selected && selected.name, message: error.message,
      fields: (error.fields || []).map(function (problem) { return String(problem.field || ""); }) });
    (error.fields || []).forEach(function (problem) {
      var found = /^input\.(credentials|props|parameters)\.([^.]+)/.exec(problem.field || "");
      var box = found ? fieldBox(form, found[2], found[1] === "parameters") : null;
      if (box) {
        setFieldError(box, fieldMessage(box, problem.message));
        focusTarget = focusTarget || box.querySelector("input,select");
      } else {
        general.textContent = problem.message;
      }
    });
    if (!error.fields || !error.fields.length) general.textContent = error.message;
    (focusTarget || submit).focus();
    reportHeight();
  }

  // The server may phrase a field's problem as a predicate ("is required", "must match …"):
  // it then reads as a sentence about the field's label.
  function fieldMessage(box, message) {
    message = String(message || "");
    if (!/^[a-z]/.test(message)) return message;
    return box.getAttribute("data-title") + " " + message + (/[.!?]$/.test(message) ? "" : ".");
  }

  function showForm(integration) {
    var parameters = parameterFields(integration);
    var credentials = formFields(integration);
    var fields = parameters.concat(credentials);
    var general = el("p", { class: "weir-error weir-general", role: "alert" });
    var submit = el("button", { type: "submit", class: "weir-primary", text: t("connect") });
    var form = el("form", { class: "weir-form", novalidate: true }, fields.map(fieldControl).concat([general, submit]));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      general.textContent = "";
      var read = readFields(form, fields);
      if (read.firstBad) { read.firstBad.focus(); return; }
      submit.disabled = true;
      submit.textContent = t("connecting");
      // As with startOAuth, ``parameters`` is sent only when there are some.
      var withParameters = Object.keys(read.values).length > 0;
      gql("mutation($c:JSON!,$n:String" + (withParameters ? ",$a:JSON" : "") +
          "){submitCredentials(input:{credentials:$c,integrationName:$n" + (withParameters ? ",parameters:$a" : "") +
          "}){" + STATE_FIELDS + "}}",
          withParameters ? { c: read.credentials, n: integration.name, a: read.values }
                         : { c: read.credentials, n: integration.name })
        .then(function (result) { succeeded(result.submitCredentials); }, function (error) {
          submit.disabled = false;
          submit.textContent = t("connect");
          if (error.code !== "VALIDATION_FAILED") { failed(error); return; }
          showServerErrors(form, error, general, submit);
        });
    });
    var note = credentials.length ? null : el("p", { class: "weir-muted",
      text: t("no_credentials", { name: integration.displayName }) });
    var other = integration.oauth ? el("button", { type: "button", class: "weir-link",
      onclick: function () { showOAuth(integration); }, text: t("sign_in_instead", { name: integration.displayName }) }) : null;
    show(integration.displayName, [logo(integration, "weir-int-logo"), note, form, other, backLink()],
         firstInput(form) || submit);
  }

  // -- outcomes ------------------------------------------------------------------------
  // Back to the host page a blocked popup left (redirect mode without a redirectUri), with the
  // same query parameters as the redirect flow's return address.
  function returnTo(values) {
    if (!data.returnUrl) return null;
    var url = new URL(data.returnUrl);
    url.searchParams.set("session_id", data.sessionId || "");
    for (var key in values) if (values[key]) url.searchParams.set(key, values[key]);
    return url.href;
  }

  function succeeded(state) {
    store(null);
    toHost("success", { connectionId: state.connectionId, sessionId: data.sessionId,
      integration: (selected && selected.name) || data.selected || null, account: data.account || null });
    var back = data.mode === "redirect" || data.mode === "page"
      ? state.redirectUrl || returnTo({ connection_id: state.connectionId }) : null;
    if (back) {
      spinner(t("returning"));
      window.location.replace(back);
      return;
    }
    // "You can close this window" only where there is a window of Weir's own to close.
    var inWindow = data.mode === "popup" || data.mode === "page" || data.mode === "redirect";
    var done = el("button", { type: "button", class: "weir-primary", onclick: closePage, text: t("done") });
    show(t("connected"), [el("div", { class: "weir-ok", "aria-hidden": "true", text: "\u2713" }),
      el("p", { class: "weir-muted", text: t("connected_text") + (inWindow ? " " + t("close_window") : "") }),
      data.mode === "inline" || data.mode === "page" || data.mode === "redirect" ? null : done],
      data.mode === "inline" ? undefined : done);
    if (data.mode === "popup") setTimeout(function () { window.close(); }, 1500);
  }

  function showError(message, code, again) {
    toHost("error", { code: code || "UNKNOWN", message: message });
    var buttons = [];
    if (again) buttons.push(el("button", { type: "button", class: "weir-primary", onclick: again, text: t("try_again") }));
    var back = data.redirectUrl || returnTo({ error: code || "UNKNOWN" });
    if (back) buttons.push(el("a", { class: "weir-link", href: back, text: t("return_to_app") }));
    show(t("error_title"), [el("p", { class: "weir-error weir-general", role: "alert", text: message })]
      .concat(buttons), buttons[0]);
  }

  function failed(error) {
    var code = error && error.code;
    if (code === "UNAUTHENTICATED") showError(t("link_expired"), "TOKEN_EXPIRED");
    else showError((error && error.message) || t("error_generic"), code || "NETWORK_ERROR", retry);
  }

  // -- focus stays inside the dialog; Escape closes it ----------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && (data.mode === "modal" || data.mode === "popup")) { closePage(); return; }
    if (event.key !== "Tab" || data.mode !== "modal") return;
    // Only what Tab can reach: not the rows a search hides, nor the chips outside the tab order.
    var focusable = Array.prototype.filter.call(
      app.querySelectorAll("button:not([disabled]),input,select,a[href],[tabindex='0']"),
      function (node) { return node.tabIndex >= 0 && node.getClientRects().length > 0; });
    if (!focusable.length) return;
    var first = focusable[0], last = focusable[focusable.length - 1];
    if (event.shiftKey && (document.activeElement === first || !app.contains(document.activeElement))) {
      event.preventDefault(); last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault(); first.focus();
    }
  });

  // -- the OAuth callback page ----------------------------------------------------------
  function callback() {
    if (data.consentInPopup) {
      if (window.opener) {
        window.opener.postMessage({ weir: 1, type: "consent_result", errorCode: data.errorCode || null,
                                    errorMessage: data.errorMessage || null }, data.weirOrigin);
      }
      show(data.status === "COMPLETED" ? t("connected") : t("error_title"), [
        el("p", { class: "weir-muted", text: data.errorMessage || t("close_window") })]);
      setTimeout(function () { window.close(); }, 300);
      return;
    }
    var saved = stored();
    token = saved.token || null;
    data.mode = saved.mode || "page";
    data.hostOrigin = (data.allowedOrigins || []).indexOf(saved.hostOrigin) >= 0 ? saved.hostOrigin : null;
    hostWindow = data.mode === "popup" ? window.opener : null;
    data.returnUrl = null;
    try {
      if (data.hostOrigin && saved.returnUrl && new URL(saved.returnUrl).origin === data.hostOrigin) {
        data.returnUrl = saved.returnUrl;
      }
    } catch (e) { /* not a URL: no way back but the app's own */ }
    hostReady = true;
    document.documentElement.setAttribute("data-mode", data.mode);
    if (data.status === "COMPLETED") {
      succeeded({ connectionId: data.connectionId, redirectUrl: data.redirectUrl });
    } else {
      showError(data.errorMessage || t("sign_in_failed"), data.errorCode, token ? function () {
        window.location.assign("/connect?token=" + encodeURIComponent(token) + "&mode=" + data.mode +
          (data.hostOrigin ? "&origin=" + encodeURIComponent(data.hostOrigin) : ""));
      } : null);
    }
  }

  // -- start ---------------------------------------------------------------------------
  if (data.view === "launch") {
    spinner(t("opening_sign_in"));
    window.location.replace(data.authorizeUrl);
    return;
  }
  if (data.view === "callback") { callback(); return; }
  toHost("ready", { title: t("title"), lang: data.locale, dir: messages.dir });
  if (data.view === "error") { showError(data.errorMessage, data.errorCode, null); return; }
  if (data.status === "COMPLETED") { succeeded({ connectionId: data.connectionId, redirectUrl: data.redirectUrl }); return; }
  if (integrations.length === 1) {
    choose(integrations[0]);
  } else {
    showList();
  }
})();
