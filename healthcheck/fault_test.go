package healthcheck

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/haup-project/haup/agent"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestFaultsAreTyped: driver errors are typed where they are met, with the
// same messages as before.
func TestFaultsAreTyped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		err  error
		code agent.Fault
		msg  string
	}{
		{context.DeadlineExceeded, agent.FaultTimeout, "timed out"},
		{&pgconn.PgError{Code: "28P01", Message: `password authentication failed for user "postgres"`}, agent.FaultAuth, `password authentication failed for user "postgres" (SQLSTATE 28P01)`},
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, agent.FaultServer, "the database system is starting up (SQLSTATE 57P03)"},
		{errors.New("dial tcp 10.0.0.1:5432: connect: connection refused"), agent.FaultRefused, "connection refused"},
		{errors.New("dial tcp: lookup pg-9: no such host"), agent.FaultOther, "dial tcp: lookup pg-9: no such host"},
	} {
		err := describe(context.Background(), c.err)
		if FaultOf(err) != c.code || err.Error() != c.msg || !FaultOf(err).Answered() != (c.code == agent.FaultTimeout || c.code == agent.FaultOther) {
			t.Errorf("%v: %q %q", c.err, FaultOf(err), err)
		}
	}
	if err := describe(ctx, errors.New("x")); FaultOf(err) != agent.FaultTimeout {
		t.Errorf("a context ended: %q", FaultOf(err))
	}
	if FaultOf(nil) != agent.FaultNone || FaultOf(os.ErrClosed) != agent.FaultOther {
		t.Error("FaultOf")
	}
}
