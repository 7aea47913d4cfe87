/*
 * Mounts GraphiQL for the product gateway.
 *
 * Loaded as an external script (the page's Content-Security-Policy forbids inline scripts) after
 * react.production.min.js, react-dom.production.min.js and graphiql.min.js, which define the
 * React, ReactDOM and GraphiQL globals.
 *
 * The endpoint comes from the root element's data-endpoint attribute. Queries and mutations are
 * POSTed to it; subscriptions open a WebSocket to the same path and speak graphql-transport-ws,
 * sending the Authorization header from the Headers tab in connection_init's payload.
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

  function isSubscription(graphQLParams, opts) {
    var ast = opts && opts.documentAST;
    if (!ast) {
      return /^\s*subscription\b/.test(graphQLParams.query || "");
    }
    var operations = ast.definitions.filter(function (definition) {
      return definition.kind === "OperationDefinition";
    });
    var chosen = graphQLParams.operationName
      ? operations.filter(function (operation) {
          return operation.name && operation.name.value === graphQLParams.operationName;
        })[0]
      : operations[0];
    return !!chosen && chosen.operation === "subscription";
  }

  function authorization(headers) {
    var found = null;
    Object.keys(headers || {}).forEach(function (name) {
      if (name.toLowerCase() === "authorization") {
        found = headers[name];
      }
    });
    return found;
  }

  // One graphql-transport-ws connection per subscription, as an async iterator of results:
  // GraphiQL shows each one as it arrives and calls return() when the user stops it.
  function subscribe(graphQLParams, opts) {
    var url = new URL(endpoint, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var auth = authorization(opts && opts.headers);
    var queue = [];
    var waiting = null;
    var done = false;
    var socket = new WebSocket(url.href, "graphql-transport-ws");

    function push(item) {
      if (waiting) {
        var resolve = waiting;
        waiting = null;
        resolve(item);
      } else {
        queue.push(item);
      }
    }
    function send(message) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(message));
      }
    }
    function finish() {
      if (!done) {
        done = true;
        push({ value: undefined, done: true });
        socket.close(1000);
      }
    }
    socket.onopen = function () {
      send({ type: "connection_init", payload: auth ? { authorization: auth } : {} });
    };
    socket.onmessage = function (event) {
      var message = parseBody(event.data) || {};
      if (message.type === "connection_ack") {
        send({ type: "subscribe", id: "1", payload: graphQLParams });
      } else if (message.type === "ping") {
        send({ type: "pong" });
      } else if (message.type === "next") {
        push({ value: message.payload, done: false });
      } else if (message.type === "error") {
        push({ value: { errors: message.payload }, done: false });
        finish();
      } else if (message.type === "complete") {
        finish();
      }
    };
    socket.onclose = function (event) {
      if (!done) {
        var reason = "The WebSocket closed: " + event.code + (event.reason ? " " + event.reason : "");
        push({ value: { errors: [{ message: reason }] }, done: false });
        finish();
      }
    };
    var results = {
      next: function () {
        if (queue.length) {
          return Promise.resolve(queue.shift());
        }
        if (done) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise(function (resolve) {
          waiting = resolve;
        });
      },
      return: function () {
        send({ type: "complete", id: "1" });
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
    results[Symbol.asyncIterator] = function () {
      return results;
    };
    return results;
  }

  function fetcher(graphQLParams, opts) {
    if (isSubscription(graphQLParams, opts)) {
      return subscribe(graphQLParams, opts);
    }
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
