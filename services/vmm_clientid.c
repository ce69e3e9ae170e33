/*
 * vmm_clientid: the Mosquitto 2.0 plugin (API v5) of the secure broker profile (docs/PROTOCOL.md
 * §2.3, docs/BRIDGE.md "The secure broker profile"). Two rules the ACL file cannot express:
 *
 * 1. Client ids are namespaced by identity: a client's id MUST be its user name or start with
 *    "<user name>:". MQTT lets a new connection with a client id take over the session holding it
 *    (the old one is disconnected), so without this rule anyone could knock anyone off the broker,
 *    the bridges included, or publish under another id. Checked on MOSQ_EVT_BASIC_AUTH, which
 *    Mosquitto 2.0.11 runs (src/handle_connect.c) before connect__on_authorised(), where a session
 *    takeover happens: a refused client never kicks the owner of the id.
 *    Our callback is registered before the password file's (plugins are loaded by
 *    mosquitto_security_module_init(), the password file's check is appended afterwards by
 *    mosquitto_security_init_default()) and returns MOSQ_ERR_PLUGIN_DEFER for a good client id,
 *    so that the password file still decides (src/security.c mosquitto_unpwd_check: the first
 *    callback not returning DEFER decides; all DEFER means refused).
 *    A listener with use_identity_as_username (client certificates) skips BASIC_AUTH altogether;
 *    there the ACL check below refuses every publish, subscription and delivery of a client whose
 *    id does not match its certificate's name (it cannot prevent the takeover itself: in 2.0.11
 *    no plugin event precedes it on such a listener; only holders of a certificate of our CA get
 *    that far).
 *
 * 2. Only the bridges' user (vmm-bridge) may publish a retained message: `retain_available false`
 *    is global in 2.0.11, and the bridges need retained presence (§2.2). A retained PUBLISH (or
 *    will) by anyone else is denied by the ACL check: the broker drops it, neither delivered nor
 *    stored. Everything else is left to the ACL file (MOSQ_ERR_PLUGIN_DEFER).
 *
 * Built by scripts/services.sh: gcc -shared -fPIC against Debian's mosquitto-dev headers.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define BRIDGE_USER "vmm-bridge"

/* True if `id` is `user` or starts with "<user>:". */
static bool id_belongs_to(const char *id, const char *user)
{
	size_t n;

	if(id == NULL || user == NULL) return false;
	n = strlen(user);
	if(n == 0 || strncmp(id, user, n) != 0) return false;
	return id[n] == '\0' || id[n] == ':';
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *id = mosquitto_client_id(ed->client);

	(void)event;
	(void)userdata;
	/* No user name: the password file refuses it (allow_anonymous false). */
	if(ed->username == NULL) return MOSQ_ERR_PLUGIN_DEFER;
	if(!id_belongs_to(id, ed->username)){
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				"vmm_clientid: refused client id \"%s\" for user \"%s\" (must be the user name or start with \"%s:\")",
				id ? id : "", ed->username, ed->username);
		return MOSQ_ERR_AUTH;
	}
	return MOSQ_ERR_PLUGIN_DEFER;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	const char *user = mosquitto_client_username(ed->client);

	(void)event;
	(void)userdata;
	if(!id_belongs_to(mosquitto_client_id(ed->client), user)){
		return MOSQ_ERR_ACL_DENIED;
	}
	if(ed->access == MOSQ_ACL_WRITE && ed->retain && strcmp(user, BRIDGE_USER) != 0){
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
				"vmm_clientid: denied a retained publish by user \"%s\" on \"%s\"",
				user, ed->topic ? ed->topic : "");
		return MOSQ_ERR_ACL_DENIED;
	}
	return MOSQ_ERR_PLUGIN_DEFER;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	int i;

	for(i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5) return 5;
	}
	return -1;
}

/* Loaded once per listener (per_listener_settings): each load gets its own identifier, kept as
 * the user data for the cleanup. */
int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
		struct mosquitto_opt *options, int option_count)
{
	int rc;

	(void)options;
	(void)option_count;
	*userdata = identifier;
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
	if(rc != MOSQ_ERR_SUCCESS) return rc;
	return mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	mosquitto_plugin_id_t *identifier = userdata;

	(void)options;
	(void)option_count;
	mosquitto_callback_unregister(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	mosquitto_callback_unregister(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
	return MOSQ_ERR_SUCCESS;
}
