package licentia

// The server's small value store, per device or per license.

import (
	"context"
	"net/url"
)

// Scopes of a stored value.
const (
	ScopeDevice  = "device"
	ScopeLicense = "license"
)

// Value returns the JSON value saved under key (nil, bool, string,
// json.Number, []any or map[string]any), or def when there is none.
func (c *Client) Value(ctx context.Context, key, scope string, def any) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	credential, err := c.credential(ctx)
	if err != nil {
		return def, err
	}
	answer, err := c.transport.do(ctx, request{method: "GET", path: valuePath(key), credential: &credential, query: url.Values{"scope": {scope}}})
	if r, ok := asRefusal(err); ok && r.Code == CodeUnknownValue {
		return def, nil
	}
	if err != nil {
		return def, guard(err)
	}
	if obj, ok := answer.(map[string]any); ok {
		if v, present := obj["value"]; present {
			return v, nil
		}
	}
	return def, nil
}

// SetValue saves a JSON-encodable value under key.
func (c *Client) SetValue(ctx context.Context, key, scope string, value any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	credential, err := c.credential(ctx)
	if err != nil {
		return err
	}
	_, err = c.transport.do(ctx, request{method: "PUT", path: valuePath(key), body: map[string]any{"value": value}, credential: &credential, query: url.Values{"scope": {scope}}})
	return guard(err)
}

func valuePath(key string) string { return "/v1/values/" + url.PathEscape(key) }
