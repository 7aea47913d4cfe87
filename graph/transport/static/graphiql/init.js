/*
 * Mounts GraphiQL for the product gateway.
 *
 * Loaded as an external script (the page's Content-Security-Policy forbids inline scripts) after
 * react.production.min.js, react-dom.production.min.js and graphiql.min.js, which define the
 * React, ReactDOM and GraphiQL globals.
 *
 * The endpoint comes from the root element's data-endpoint attribute. Queries and mutations are
 * POSTed to it; subscriptions open a WebSocket to the same path and speak graphql-transport-ws,
 * sending the Authorization header from the Headers tab in connection_init's payload. Which one
 * an operation is, is read from the text being sent (see operationsIn).
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

  // The operations a document defines, in order, as {type, name}, read from the text itself:
  // GraphiQL parses the editor only after a pause, so a Run pressed right after the text changed
  // hands the fetcher the previous document's AST and operation name. Names and punctuators
  // are enough to find the top-level definitions; comments and strings are skipped.
  var OPERATION_TYPES = ["query", "mutation", "subscription"];
  var TOKEN = /[\s,\ufeff]+|#[^\n\r]*|"""(?:\\"""|[^])*?"""|"(?:\\.|[^"\\\n\r])*"|([_A-Za-z][_0-9A-Za-z]*)|([^])/g;

  function tokensIn(text) {
    var tokens = [];
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(text)) !== null) {
      if (match[1] !== undefined) {
        tokens.push({ name: match[1] });
      } else if (match[2] !== undefined) {
        tokens.push({ punctuator: match[2] });
      }
    }
    return tokens;
  }

  function operationsIn(text) {
    var operations = [];
    var depth = 0; // inside { } or ( ): not a top-level token
    var declared = null; // the definition whose keyword was read, until its body opens
    var previous = null;
    tokensIn(text).forEach(function (token) {
      if (token.punctuator !== undefined) {
        var c = token.punctuator;
        if (depth === 0 && c === "{") {
          if (declared === null) {
            operations.push({ type: "query", name: null }); // the { ... } shorthand
          }
          declared = null;
        }
        depth += c === "{" || c === "(" ? 1 : c === "}" || c === ")" ? -1 : 0;
      } else if (depth === 0 && declared === null) {
        if (OPERATION_TYPES.indexOf(token.name) !== -1) {
          declared = { type: token.name, name: null };
          operations.push(declared);
        } else if (token.name === "fragment") {
          declared = { type: "fragment", name: null };
        }
      } else if (depth === 0 && previous === declared.type && declared.type !== "fragment") {
        declared.name = token.name;
      }
      previous = token.name === undefined ? null : token.name;
    });
    return operations;
  }

  // The operation the server will run: the named one if the text has it, else (a stale name,
  // or none) the first, as GraphiQL itself settles once it has parsed the text.
  function chosenOperation(graphQLParams) {
    var operations = operationsIn(graphQLParams.query || "");
    var named = operations.filter(function (operation) {
      return operation.name !== null && operation.name === graphQLParams.operationName;
    });
    return named[0] || operations[0] || null;
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

  function fetcher(sent, opts) {
    var operation = chosenOperation(sent);
    var graphQLParams = Object.assign({}, sent, {
      operationName: operation && operation.name ? operation.name : undefined,
    });
    if (operation && operation.type === "subscription") {
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
