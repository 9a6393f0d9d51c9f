package tasks

// packageChanges installs keepalived with apt when the node lacks it.
func packageChanges(f *Facts) []Change {
	if f.Keepalived.Package != "" {
		return nil
	}
	return []Change{{
		Op: OpCreate, Kind: KindPackage, Name: "keepalived", Summary: "install with apt (without recommended packages: haup uses no LVS)",
		stage: StageHost,
		task:  InstallKeepalived{},
	}}
}
