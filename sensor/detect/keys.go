package detect

import "strings"

// keyKind is what a key name says about the value under it.
type keyKind uint8

const (
	keyNone keyKind = iota
	keySecret
	keyPassword
	keyEmail
	keyPhone
	keyCard
	keySSN
	keyIBAN
	keyIP
	keyPersonName
	keyName // "name": a person's name only under a person-like parent
	keyAddress
	keyDOB
	keyUserID
	keyAccountID
	keyOrgID
	keyLatLon
	keyPlace   // city, country, region, postal code
	keyPerson  // an object that describes a person: user, customer, …
	keyVersion // version strings look like IP addresses
	keyID      // "id": a user id only under a person-like parent
)

// maxKeyLen bounds key normalisation; longer keys are classified by their
// first maxKeyLen bytes.
const maxKeyLen = 64

// exactKeys maps normalised key names (lower case, letters and digits only,
// so "user_id", "userId" and "user-id" all read "userid") to their kind.
var exactKeys = map[string]keyKind{
	"key": keySecret, "apikey": keySecret, "apitoken": keySecret, "token": keySecret,
	"accesstoken": keySecret, "refreshtoken": keySecret, "idtoken": keySecret,
	"authtoken": keySecret, "clientsecret": keySecret, "secret": keySecret,
	"secretkey": keySecret, "privatekey": keySecret, "accesskey": keySecret,
	"authorization": keySecret, "xapikey": keySecret, "apisecret": keySecret,
	"sessiontoken": keySecret, "bearer": keySecret, "credential": keySecret,
	"credentials": keySecret, "auth": keySecret, "authkey": keySecret,
	"xauthtoken": keySecret, "xaccesstoken": keySecret, "xgoogapikey": keySecret,
	"signingkey": keySecret, "webhooksecret": keySecret, "appsecret": keySecret,

	"password": keyPassword, "passwd": keyPassword, "pwd": keyPassword, "pass": keyPassword,
	"passphrase": keyPassword, "passcode": keyPassword,

	"email": keyEmail, "emailaddress": keyEmail, "mail": keyEmail, "useremail": keyEmail,
	"contactemail": keyEmail, "billingemail": keyEmail, "customeremail": keyEmail,

	"phone": keyPhone, "phonenumber": keyPhone, "mobile": keyPhone, "mobilephone": keyPhone,
	"mobilenumber": keyPhone, "tel": keyPhone, "telephone": keyPhone, "cell": keyPhone,
	"cellphone": keyPhone, "msisdn": keyPhone, "contactphone": keyPhone, "phoneno": keyPhone,
	"homephone": keyPhone, "workphone": keyPhone,

	"card": keyCard, "cardnumber": keyCard, "cardno": keyCard, "pan": keyCard, "cc": keyCard,
	"ccnumber": keyCard, "ccnum": keyCard, "creditcard": keyCard, "creditcardnumber": keyCard,
	"number": keyNone, "accountnumber": keyNone, "primaryaccountnumber": keyCard,
	"debitcard": keyCard, "paymentcard": keyCard,

	"ssn": keySSN, "socialsecuritynumber": keySSN, "socialsecurity": keySSN, "usssn": keySSN,
	"taxid": keySSN,

	"iban": keyIBAN, "ibannumber": keyIBAN, "bankaccount": keyIBAN,

	"ip": keyIP, "ipaddress": keyIP, "ipaddr": keyIP, "clientip": keyIP, "remoteip": keyIP,
	"remoteaddr": keyIP, "userip": keyIP, "sourceip": keyIP, "xforwardedfor": keyIP,
	"xrealip": keyIP, "srcip": keyIP,

	"firstname": keyPersonName, "lastname": keyPersonName, "fullname": keyPersonName,
	"givenname": keyPersonName, "familyname": keyPersonName, "surname": keyPersonName,
	"middlename": keyPersonName, "customername": keyPersonName, "cardholdername": keyPersonName,
	"cardholder": keyPersonName, "holdername": keyPersonName, "contactname": keyPersonName,
	"billingname": keyPersonName, "shippingname": keyPersonName, "fname": keyPersonName,
	"lname": keyPersonName, "legalname": keyPersonName,
	"name": keyName, "displayname": keyName, "id": keyID,

	"address": keyAddress, "street": keyAddress, "streetaddress": keyAddress,
	"addressline1": keyAddress, "addressline2": keyAddress, "address1": keyAddress,
	"address2": keyAddress, "line1": keyAddress, "line2": keyAddress,
	"billingaddress": keyAddress, "shippingaddress": keyAddress, "homeaddress": keyAddress,
	"postaladdress": keyAddress, "mailingaddress": keyAddress, "streetline1": keyAddress,

	"dob": keyDOB, "dateofbirth": keyDOB, "birthdate": keyDOB, "birthday": keyDOB,
	"birthdt": keyDOB,

	"userid": keyUserID, "uid": keyUserID, "distinctid": keyUserID, "customerid": keyUserID,
	"memberid": keyUserID, "personid": keyUserID, "profileid": keyUserID,
	"anonymousid": keyUserID, "externalid": keyUserID, "visitorid": keyUserID,
	"contactid": keyUserID, "patientid": keyUserID, "employeeid": keyUserID,

	"accountid": keyAccountID, "acctid": keyAccountID, "accountuuid": keyAccountID,
	"subscriptionid": keyAccountID, "billingaccountid": keyAccountID,

	"orgid": keyOrgID, "organizationid": keyOrgID, "organisationid": keyOrgID,
	"tenantid": keyOrgID, "companyid": keyOrgID, "workspaceid": keyOrgID, "teamid": keyOrgID,
	"groupid": keyOrgID, "openaiorganization": keyOrgID,

	"lat": keyLatLon, "lon": keyLatLon, "lng": keyLatLon, "latitude": keyLatLon,
	"longitude": keyLatLon, "long": keyLatLon, "geolat": keyLatLon, "geolon": keyLatLon,

	"city": keyPlace, "country": keyPlace, "countrycode": keyPlace,
	"state": keyNone, "postalcode": keyPlace, "postcode": keyPlace, "zip": keyPlace,
	"zipcode": keyPlace, "geocity": keyPlace, "geocountry": keyPlace, "town": keyPlace,
	"province": keyPlace,

	"user": keyPerson, "customer": keyPerson, "person": keyPerson, "contact": keyPerson,
	"owner": keyPerson, "author": keyPerson, "member": keyPerson, "profile": keyPerson,
	"billing": keyPerson, "shipping": keyPerson, "recipient": keyPerson, "sender": keyPerson,
	"payer": keyPerson, "patient": keyPerson, "employee": keyPerson, "traits": keyPerson,
	"identity": keyPerson, "userinfo": keyPerson, "buyer": keyPerson,
	"cardholderinfo": keyPerson, "me": keyPerson, "viewer": keyPerson,

	"version": keyVersion, "ver": keyVersion, "appversion": keyVersion,
	"sdkversion": keyVersion, "libversion": keyVersion, "osversion": keyVersion,
}

// secretWords mark a key as naming a credential wherever they appear in it
// ("stripe_secret_key", "X-Upstream-Token").
var secretWords = []string{
	"secret", "token", "apikey", "accesskey", "privatekey", "password", "passwd",
	"credential", "authkey", "sessionkey", "signingkey", "clientkey",
}

// notSecretWords mark a key as naming something about a credential rather
// than the credential itself: counts, types, expiries, URLs, pagination
// cursors and anti-CSRF values.
var notSecretWords = []string{
	"tokens", "count", "type", "expir", "url", "uri", "endpoint", "page", "cursor", "next",
	"csrf", "xsrf", "limit", "usage", "length", "hint", "policy", "required", "updated",
	"created", "changed", "reset", "name", "format", "ttl", "issued", "lifetime", "method",
	"strength", "enabled", "location", "path",
}

// normKey writes the normalised form of key into buf and returns it.
func normKey(buf *[maxKeyLen]byte, key []byte) []byte {
	n := 0
	for _, c := range key {
		if n == len(buf) {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			buf[n] = c
			n++
		case c >= 'A' && c <= 'Z':
			buf[n] = c + ('a' - 'A')
			n++
		}
	}
	return buf[:n]
}

// classifyKey returns the kind of a key name.
func classifyKey(key []byte) keyKind {
	if len(key) == 0 {
		return keyNone
	}
	var buf [maxKeyLen]byte
	k := normKey(&buf, key)
	if kind, ok := exactKeys[string(k)]; ok {
		return kind
	}

	// string(k) in strings.Contains does not escape; the compiler keeps
	// it on the stack for keys this short.
	s := string(k)
	if strings.HasSuffix(s, "password") || strings.HasSuffix(s, "passwd") {
		return keyPassword
	}
	for _, w := range notSecretWords {
		if strings.Contains(s, w) {
			return keyNone
		}
	}
	if strings.HasSuffix(s, "id") && !strings.HasSuffix(s, "secretid") {
		return identifierKind(s)
	}
	for _, w := range secretWords {
		if strings.Contains(s, w) {
			return keySecret
		}
	}
	return identifierKind(s)
}

// identifierKind classifies keys by their ending when no table entry and no
// credential word matched.
func identifierKind(s string) keyKind {
	switch {
	case strings.HasSuffix(s, "email"):
		return keyEmail
	case strings.HasSuffix(s, "phone") || strings.HasSuffix(s, "phonenumber"):
		return keyPhone
	case strings.HasSuffix(s, "userid"):
		return keyUserID
	case strings.HasSuffix(s, "accountid"):
		return keyAccountID
	case strings.HasSuffix(s, "orgid") || strings.HasSuffix(s, "organizationid") ||
		strings.HasSuffix(s, "tenantid"):
		return keyOrgID
	}
	return keyNone
}
