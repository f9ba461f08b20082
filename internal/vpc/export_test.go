package vpc

// SubnetOf is subnetOf, for tests.
var SubnetOf = subnetOf
