import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The conformance vectors generated from the Python core (conformance/vectors.json). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Case = Record<string, any>;
export const VECTORS_PATH = join(__dirname, "..", "..", "..", "..", "conformance", "vectors.json");
export const vectors: Case = JSON.parse(readFileSync(VECTORS_PATH, "ascii"));
