package conformance

import "encoding/json"

// countCases returns the number of top-level array elements of a vector file
// (0 if it is not a JSON array).
func countCases(data []byte) int {
	var arr []json.RawMessage
	if json.Unmarshal(data, &arr) != nil {
		return 0
	}
	return len(arr)
}
