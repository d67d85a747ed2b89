// A real library on wshub/ws, unchanged: graphql-ws's server (useServer from graphql-ws/use/ws) on our
// WebSocketServer, and graphql-ws's client with our WebSocket as webSocketImpl: a subscription round trip.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { createClient } from "graphql-ws";
import { compat, listen, urlOf, withTimeout } from "./fixtures.mjs";

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: "Query", fields: { hello: { type: GraphQLString, resolve: () => "world" } } }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      count: {
        type: GraphQLInt,
        args: { to: { type: GraphQLInt } },
        subscribe: async function* (_root, { to }) {
          for (let i = 1; i <= to; i++) yield { count: i };
        },
      },
    },
  }),
});

describe("graphql-ws 6 on wshub/ws", () => {
  it("query and subscription round trip; the server sees the graphql-transport-ws subprotocol", async () => {
    const wss = await listen(compat, { path: "/graphql" });
    const protocols = [];
    wss.on("connection", (socket) => protocols.push(socket.protocol));
    const server = useServer({ schema }, wss);
    const client = createClient({ url: urlOf(wss, "/graphql"), webSocketImpl: compat.WebSocket, retryAttempts: 0, lazy: true });
    try {
      const hello = await withTimeout(
        new Promise((resolve, reject) => {
          let result;
          client.subscribe({ query: "{ hello }" }, { next: (r) => (result = r), error: reject, complete: () => resolve(result) });
        }),
        5000,
        "query",
      );
      assert.deepEqual(hello, { data: { hello: "world" } });
      const counts = await withTimeout(
        new Promise((resolve, reject) => {
          const got = [];
          client.subscribe({ query: "subscription { count(to: 3) }" }, { next: (r) => got.push(r.data.count), error: reject, complete: () => resolve(got) });
        }),
        5000,
        "subscription",
      );
      assert.deepEqual(counts, [1, 2, 3]);
      // A lazy client may connect once per operation: every connection negotiated the protocol.
      assert.ok(protocols.length >= 1);
      for (const p of protocols) assert.equal(p, "graphql-transport-ws");
    } finally {
      await client.dispose();
      await withTimeout(server.dispose(), 5000, "graphql-ws dispose");
    }
  });
});
