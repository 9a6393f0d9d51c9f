package healthcheck

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/haup-project/haup/agent"
	"github.com/haup-project/haup/nodeapi"
)

// NextPassword reads the password being rotated in, if there is one.
func NextPassword(cfg nodeapi.Config) (string, bool) {
	if cfg.PasswordFile == "" {
		return "", false
	}
	b, err := os.ReadFile(cfg.PasswordFile + nodeapi.NextSuffix)
	if err != nil {
		return "", false
	}
	return strings.TrimRight(string(b), "\r\n"), true
}

// AuthFailed tells whether a check failed on the password alone.
func AuthFailed(r nodeapi.Report) bool {
	return r.LocalFault == agent.FaultAuth
}

// SetPassword sets role's password, read from file, inside the database
// (on the primary; standbys get it by replication). The statement carries a
// SCRAM-SHA-256 verifier computed here, never the password, so no server
// log can show it.
func SetPassword(ctx context.Context, cfg nodeapi.Config, password, role, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return fmt.Errorf("%s is empty", file)
	}
	v, err := scramVerifier(secret)
	if err != nil {
		return err
	}
	if _, err = query(ctx, cfg, password, dbName(cfg), "ALTER ROLE "+pgIdent(role)+" PASSWORD '"+v+"'"); err != nil {
		return err
	}
	if role == "repmgr" {
		return setRepmgrConninfoPassword(ctx, cfg, password, secret)
	}
	return nil
}

// setRepmgrConninfoPassword puts repmgr's new password into every node's
// conninfo in repmgr's metadata, where the bitnami image keeps it (its
// passfile alternative is unreadable by repmgr, see desired's imageSafetyEnv):
// a standby's repmgrd and a cloning node reach the primary with the
// primary's recorded conninfo, which the primary never registers again, so
// after a rotation they would keep the old password and never connect. The
// password travels as a bound parameter, never in the statement's text.
func setRepmgrConninfoPassword(ctx context.Context, cfg nodeapi.Config, password, secret string) error {
	pc, err := connConfig(cfg, password, cfg.Host, cfg.Port, "repmgr", "haup-set-password")
	if err != nil {
		return err
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return describe(ctx, err)
	}
	defer conn.Close(context.Background())
	const stmt = `UPDATE repmgr.nodes SET conninfo = regexp_replace(conninfo, '(^|\s)password=\S*', '\1password=' || $1)
  WHERE conninfo ~ '(^|\s)password='`
	res := conn.ExecParams(ctx, stmt, [][]byte{[]byte(secret)}, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("repmgr's metadata: %w", describe(ctx, res.Err))
	}
	return nil
}

// scramVerifier is PostgreSQL's stored form of a SCRAM-SHA-256 password.
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(server)), nil
}
