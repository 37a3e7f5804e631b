package discover

// CompareResults orders results as [Listener.Collect] returns them: by
// name, type, host, address, then instance ID. It returns a negative
// number when a comes first, a positive one when b does, 0 when neither.
func CompareResults(a, b Result) int { return compareResults(a, b) }
