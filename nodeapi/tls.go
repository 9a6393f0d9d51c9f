package nodeapi

// The database's TLS (database.tls). haup installs the CA, the certificate
// and its key in TLSDir on the host (the key root-only), mounted read-only
// at TLSInContainer. PostgreSQL refuses a key that its own user cannot read
// or that others can, and the image only chmods the key, so the start gate
// copies it into the container's /tmp (a tmpfs), owned by the user
// PostgreSQL runs as, mode 0600: TLSKeyInContainer, the image's
// POSTGRESQL_TLS_KEY_FILE. A certificate rotation copies it again in the
// running container (haup-check tls-key) before PostgreSQL reloads.
const (
	TLSDir            = "/etc/haup/tls"
	TLSInContainer    = "/opt/haup/tls"
	TLSKeyInContainer = "/tmp/haup-tls/server.key"
	// The files' names in TLSDir.
	TLSCAFile   = "ca.crt"
	TLSCertFile = "server.crt"
	TLSKeyFile  = "server.key"
)
