package dev.licentia.client;

/**
 * What a flush of the event queue did.
 *
 * @param sent acknowledged by the server (new and duplicates)
 * @param duplicates already stored by an earlier send
 * @param dropped refused as malformed: they could never be accepted
 * @param remaining still queued (offline, deadline reached, or no credential yet)
 */
public record FlushResult(int sent, int duplicates, int dropped, int remaining) {}
