package licentia

// Timestamps as the core writes and reads them (UTC, ISO 8601, Z suffix), and
// the one clock passed in wherever time matters, so tests move time instead of sleeping.

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"time"
)

// Clock gives the local time. Options.Clock defaults to the system clock.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

var isoPattern = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?)?(Z|[+-]\d{2}:?\d{2})?$`)

var errTime = errors.New("not an ISO 8601 time")

// parseISO parses an ISO 8601 timestamp (no offset means UTC).
func parseISO(text string) (time.Time, error) {
	m := isoPattern.FindStringSubmatch(text)
	if m == nil {
		return time.Time{}, errTime
	}
	num := func(i int) int {
		n, _ := strconv.Atoi(m[i])
		return n
	}
	y, mo, d, h, mi, s := num(1), num(2), num(3), num(4), num(5), num(6)
	if y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, errTime
	}
	ms := 0
	if m[7] != "" {
		frac := (m[7] + "000000")[:6]
		us, _ := strconv.Atoi(frac)
		ms = us / 1000
	}
	when := time.Date(y, time.Month(mo), d, h, mi, s, ms*int(time.Millisecond), time.UTC)
	if when.Day() != d {
		return time.Time{}, errTime // no such day
	}
	if zone := m[8]; zone != "" && zone != "Z" {
		digits := zone[1:]
		if len(digits) == 5 {
			digits = digits[:2] + digits[3:]
		}
		hh, _ := strconv.Atoi(digits[:2])
		mm, _ := strconv.Atoi(digits[2:])
		offset := time.Duration(hh*60+mm) * time.Minute
		if zone[0] == '-' {
			offset = -offset
		}
		when = when.Add(-offset)
	}
	return when, nil
}

// toISO: UTC, second precision, Z suffix: the one timestamp form in signed documents.
func toISO(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// Offsets beyond a century are nonsense (a document's time is years 1-9999): treated as none.
const maxOffsetSeconds = 100 * 366 * 86400

func usableOffset(seconds int64) bool {
	return seconds >= -maxOffsetSeconds && seconds <= maxOffsetSeconds
}

// clockOffset: whole seconds to add to the local clock to get the server's,
// from a bound answer's issued_at and the local time it arrived. Rounded up,
// as the core does: issued_at is the server's time cut to the second, so
// judging a fraction of a second late never grants more than was signed.
func clockOffset(issued, localNow time.Time) int64 {
	ms := math.Round(float64(issued.Sub(localNow)) / float64(time.Millisecond))
	seconds := int64(math.Ceil(ms / 1000))
	if !usableOffset(seconds) {
		return 0
	}
	return seconds
}

// serverTime: the server's time now, by the local clock and the offset the last bound answer measured.
func serverTime(localNow time.Time, offsetSeconds int64) time.Time {
	if !usableOffset(offsetSeconds) {
		return localNow
	}
	return localNow.Add(time.Duration(offsetSeconds) * time.Second)
}
