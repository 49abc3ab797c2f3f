package dev.devmem.gateway;

import dev.devmem.gateway.store.Manifest;

/**
 * How one flow ended: stored (with its manifest) or failed (with the typed cause; nothing visible).
 *
 * @param key            the object name the flow was stored under
 * @param peer           the sender
 * @param manifest       the published manifest, or null when the flow failed
 * @param error          why the object was not stored, or null
 * @param maxOutstanding the most frags this flow held at once (received, not yet given back), never above the budget
 */
public record FlowResult(String key, String peer, Manifest manifest, Throwable error, long maxOutstanding) {
    public boolean stored() {
        return manifest != null;
    }
}
