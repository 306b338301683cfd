// Boots GraphiQL against this Weir's /graphql (HTTP, and WebSocket for subscriptions).
//
// The API key is typed into the headers pane and stays in this page's memory: headers are
// never persisted (shouldPersistHeaders: false), and GraphiQL's own storage is this tab's
// sessionStorage with every "headers" field removed (GraphiQL's history would otherwise keep
// the headers of each request, and by default it writes to localStorage).
(function () {
  "use strict";

  var endpoint = window.location.origin + window.location.pathname;
  var socketEndpoint = endpoint.replace(/^http/, "ws");

  function withoutHeaders(value) {
    if (Array.isArray(value)) {
      return value.map(withoutHeaders);
    }
    if (value !== null && typeof value === "object") {
      var copy = {};
      Object.keys(value).forEach(function (key) {
        if (key !== "headers") {
          copy[key] = withoutHeaders(value[key]);
        }
      });
      return copy;
    }
    return value;
  }

  function scrub(text) {
    try {
      return JSON.stringify(withoutHeaders(JSON.parse(text)));
    } catch (error) {
      return text; // not JSON: a plain setting such as the theme
    }
  }

  function memoryStorage() {
    var items = new Map();
    return {
      getItem: function (key) { return items.has(key) ? items.get(key) : null; },
      setItem: function (key, value) { items.set(key, String(value)); },
      removeItem: function (key) { items.delete(key); },
      clear: function () { items.clear(); },
      key: function (index) { return Array.from(items.keys())[index] || null; },
      get length() { return items.size; },
    };
  }

  function tabStorage() {
    var backing;
    try {
      backing = window.sessionStorage;
      backing.setItem("weir:probe", "1");
      backing.removeItem("weir:probe");
    } catch (error) {
      backing = memoryStorage(); // storage disabled: keep state for this page only
    }
    var prefix = "graphiql:";
    return {
      getItem: function (key) { return backing.getItem(key); },
      setItem: function (key, value) { backing.setItem(key, scrub(String(value))); },
      removeItem: function (key) { backing.removeItem(key); },
      clear: function () {
        for (var i = backing.length - 1; i >= 0; i -= 1) {
          var key = backing.key ? backing.key(i) : null;
          if (key && key.indexOf(prefix) === 0) {
            backing.removeItem(key);
          }
        }
      },
      get length() { return backing.length; },
    };
  }

  var fetcher = GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: socketEndpoint });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    storage: tabStorage(),
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: "headers",
    defaultHeaders: '{\n  "Authorization": "Bearer <your API key>"\n}',
    defaultQuery: "# Put your API key in the Headers pane below, then run:\n" +
      "{\n  viewer {\n    organization {\n      name\n    }\n  }\n}\n",
  }));
})();
