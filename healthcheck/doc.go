// Package healthcheck decides whether this node may hold the VIP: only the
// writable primary that is not a stale, superseded primary passes.
package healthcheck
