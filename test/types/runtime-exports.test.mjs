// Every value the public .d.ts files export exists at runtime: ParserState was a `const enum`, declared as an
// export but undefined when imported (preserveConstEnums keeps its object; uses are still inlined).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as protocol from "../../dist/protocol/index.js";

describe("runtime exports match the declarations", () => {
  it("ParserState is an object with the parser's states", () => {
    assert.equal(typeof protocol.ParserState, "object");
    assert.equal(protocol.ParserState.GetInfo, 0);
    assert.equal(protocol.ParserState[protocol.ParserState.Failed], "Failed");
  });
});
