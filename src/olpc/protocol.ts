/**
 * The OLPC index's wire protocol in one import: requests (iq queries and views, close), data
 * coming in (PEP, activity properties, draft joins, invitations) and what goes out (results and
 * notifications). Pure: elements in, typed values out, and back; no I/O, no clock. See WIRE.md.
 */
export * from "./limits.js";
export * from "./requests.js";
export * from "./pep.js";
export * from "./ingest.js";
export * from "./replies.js";
