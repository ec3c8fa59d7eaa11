package dev.licentia.client;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A meter's standing after a consumption (immutable): {@code remaining} of {@code limit} until
 * {@code periodEnd}. {@code replayed} is true when the server had already counted this consumption
 * (a retry whose first answer was lost): it was counted once. Unverified figures from the server,
 * checked field by field.
 *
 * @param meter the meter's name
 * @param used how much was used in the period, this consumption included
 * @param limit the period's limit
 * @param remaining what is left in the period
 * @param period the period's name ({@code month}, {@code day}, {@code never}...)
 * @param periodStart when the period started
 * @param periodEnd when it ends; null for a meter that never resets
 * @param replayed the server had already counted this consumption
 */
public record Consumption(String meter, long used, long limit, long remaining, String period, Instant periodStart,
        Instant periodEnd, boolean replayed) {
    public Consumption {
        Objects.requireNonNull(meter);
        Objects.requireNonNull(period);
        Objects.requireNonNull(periodStart);
    }

    Map<String, Object> asMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("meter", meter);
        out.put("used", used);
        out.put("limit", limit);
        out.put("remaining", remaining);
        out.put("period", period);
        out.put("period_start", Times.toIso(periodStart));
        out.put("period_end", periodEnd == null ? null : Times.toIso(periodEnd));
        out.put("replayed", replayed);
        return out;
    }
}
