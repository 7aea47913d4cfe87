/*
 * Mounts GraphiQL for the product gateway.
 *
 * Loaded as an external script (the page's Content-Security-Policy forbids inline scripts) after
 * react.production.min.js, react-dom.production.min.js and graphiql.min.js, which define the
 * React, ReactDOM and GraphiQL globals.
 *
 * The endpoint comes from the root element's data-endpoint attribute.
 *
 * Editor state lives in the address bar's fragment, "#query=...&variables=...&operationName=...":
 * the editors start from it and edits are written back (history.replaceState), so a GraphiQL URL
 * can be shared. The fragment never reaches the server, so long queries are fine and the
 * server's GET handling is not involved. GraphiQL's classic "?query=..." form is read too when
 * there is no state in the fragment (if the server answers such a URL with this page).
 */
(function () {
  "use strict";

  var STATE_KEYS = ["query", "variables", "operationName"];

  var root = document.getElementById("graphiql");
  var endpoint = root.getAttribute("data-endpoint") || "/graphql";
  var search = new URLSearchParams(window.location.search);
  var state = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  if (!STATE_KEYS.some(function (key) { return state.has(key); })) {
    STATE_KEYS.forEach(function (key) {
      if (search.has(key)) {
        state.set(key, search.get(key));
      }
    });
  }
  STATE_KEYS.forEach(function (key) {
    search.delete(key); // from now on the fragment holds the editor state
  });

  function parseBody(text) {
    try {
      return JSON.parse(text);
    } catch (_error) {
      return undefined;
    }
  }

  function fetcher(graphQLParams, opts) {
    var headers = {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
    };
    var extra = (opts && opts.headers) || {};
    Object.keys(extra).forEach(function (name) {
      headers[name] = extra[name];
    });
    return fetch(endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(graphQLParams),
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = parseBody(text);
        if (body !== undefined && body !== null && typeof body === "object") {
          // GraphQL results and GraphQL error bodies (any HTTP status) are shown as they are.
          return body;
        }
        // Not JSON (a proxy error page, an empty body, ...): show what came back.
        return {
          errors: [
            {
              message:
                "HTTP " + response.status + " " + response.statusText + " (response is not JSON)",
              extensions: { body: text.slice(0, 2000) },
            },
          ],
        };
      });
    });
  }

  var pendingWrite = null;

  function remember(name, value) {
    if (value) {
      state.set(name, value);
    } else {
      state.delete(name);
    }
    if (pendingWrite === null) {
      // Debounced: Chromium ignores replaceState calls made too often.
      pendingWrite = window.setTimeout(function () {
        pendingWrite = null;
        var query = search.toString();
        var fragment = state.toString();
        var url = window.location.pathname + (query ? "?" + query : "") + (fragment ? "#" + fragment : "");
        window.history.replaceState(null, "", url);
      }, 250);
    }
  }

  var props = {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    onEditQuery: function (value) {
      remember("query", value);
    },
    onEditVariables: function (value) {
      remember("variables", value);
    },
    onEditOperationName: function (value) {
      remember("operationName", value);
    },
  };
  STATE_KEYS.forEach(function (key) {
    if (state.has(key)) {
      props[key] = state.get(key);
    }
  });

  root.classList.remove("gateway-graphiql-loading");
  root.textContent = "";
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
