package acronis

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// TokenOwnerTenant reads the owner_tuid claim of an access token: the tenant
// the API client belongs to. GET /api/2/clients/{id} says the same but needs
// the client id, which only token-refresh holds. The claim is read without
// verifying the signature: it only picks where to start, and the API itself
// refuses anything outside the client's scope.
func TokenOwnerTenant(accessToken string) (string, error) {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return "", errors.New("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", errors.New("access token: JWT payload is not base64url")
	}
	var claims struct {
		OwnerTUID string `json:"owner_tuid"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return "", errors.New("access token: JWT payload is not a JSON object")
	}
	if err := CheckUUID(claims.OwnerTUID); err != nil {
		return "", errors.New("access token: owner_tuid claim missing or not a UUID")
	}
	return claims.OwnerTUID, nil
}
