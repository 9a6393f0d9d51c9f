package nodeapi

// ImageEntrypoint is the image's own entrypoint and command, which the
// start gate runs once it allows the start.
var ImageEntrypoint = []string{"/opt/bitnami/scripts/postgresql-repmgr/entrypoint.sh", "/opt/bitnami/scripts/postgresql-repmgr/run.sh"}

// The bitnami postgresql-repmgr image's layout inside the container
// (scripts/postgresql-env.sh), and what the host gives it.
const (
	// ImageDataDir is the data directory inside the container; the host's
	// data_dir is mounted at ImageVolumeDir.
	ImageVolumeDir = "/bitnami/postgresql"
	ImageDataDir   = ImageVolumeDir + "/data"
	// RepmgrPasswordFile is repmgr's password on the host (root-only),
	// which the container reads at start (REPMGR_PASSWORD_FILE).
	RepmgrPasswordFile = "/etc/haup/secrets/repmgr-password"
)

// PassfileInContainer is REPMGR_PASSFILE_PATH, in the container's /tmp.
const PassfileInContainer = "/tmp/haup-repmgr.pgpass"
