/**
 * What this client is and which protocol it speaks: sent on every request (`User-Agent`), so the
 * server's logs and the vendor tell clients apart, and readable by the application.
 */

/** This package's version (`package.json`'s; a test holds them equal). */
export const CLIENT_VERSION = "0.2.0";

/** The public API's protocol this client speaks: the `v` of the signed documents and offline files it reads. */
export const PROTOCOL_VERSION = 1;

/** `licentia-client-js/<version> (protocol <n>; node <version>)`. */
export const USER_AGENT = `licentia-client-js/${CLIENT_VERSION} (protocol ${PROTOCOL_VERSION}; node ${process.versions.node})`;
