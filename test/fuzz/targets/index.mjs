// The fuzz targets, by name. Each: { name, corpusExt ("bin" or "txt"), isAsync?, arbitrary (fast-check),
// check(case) (throws an Error with `input` when a property fails; returns an outcome label), casesFromCorpus(bytes) }.
import * as frames from "./frames.mjs";
import * as deflate from "./deflate.mjs";
import { requestHead, responseHead } from "./http-head.mjs";
import { extensions, close, chat } from "./small-parsers.mjs";

export const TARGETS = new Map([frames, deflate, requestHead, responseHead, extensions, close, chat].map((t) => [t.name, t]));
