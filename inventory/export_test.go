package inventory

// Parse is parse, for the tests of package inventory_test (which may
// import desired: desired imports this package).
var Parse = parse
