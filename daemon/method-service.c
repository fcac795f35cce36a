/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.varlink.service: what every Varlink service answers, so that
 * generic clients (varlinkctl) can introspect hvcapd.  The interfaces and
 * their text are the embedded IDL files, the same ones calls are checked
 * against: what GetInterfaceDescription shows is what the daemon enforces.
 */

#include <errno.h>
#include <string.h>

#include "daemon.h"

#include <proto/idl.h>

#define HVCAPD_VENDOR	"hvcap"
#define HVCAPD_PRODUCT	"hvcapd"

static int service_get_info(struct request *req, struct json_object *parameters)
{
	struct json_object *reply = json_object_new_object();
	struct json_object *ifaces = json_object_new_array();
	/* configure.ac's AC_INIT URL; empty until the project publishes one. */
	const char *url = PACKAGE_URL;

	if (!reply || !ifaces)
		goto nomem;
	for (size_t i = 0; i < proto_idl_builtin_count(); i++) {
		const struct proto_idl *idl = proto_idl_builtin(i);

		if (!idl || json_object_array_add(ifaces, json_object_new_string(proto_idl_name(idl))) < 0)
			goto nomem;
	}
	if (json_object_object_add(reply, "vendor", json_object_new_string(HVCAPD_VENDOR)) < 0 ||
	    json_object_object_add(reply, "product", json_object_new_string(HVCAPD_PRODUCT)) < 0 ||
	    json_object_object_add(reply, "version", json_object_new_string(PACKAGE_VERSION)) < 0 ||
	    json_object_object_add(reply, "url", json_object_new_string(url)) < 0)
		goto nomem;
	if (json_object_object_add(reply, "interfaces", ifaces) < 0)
		goto nomem;
	return request_reply(req, reply);

nomem:
	json_object_put(ifaces);
	json_object_put(reply);
	return -ENOMEM;
}

static int service_get_interface_description(struct request *req, struct json_object *parameters)
{
	struct json_object *name_obj, *reply;
	const struct proto_idl *idl;
	const char *name;

	/* The IDL check made "interface" a string. */
	if (!json_object_object_get_ex(parameters, "interface", &name_obj) ||
	    !json_object_is_type(name_obj, json_type_string))
		return request_invalid_parameter(req, "interface");
	name = json_object_get_string(name_obj);
	idl = proto_idl_builtin_find(name);
	if (!idl) {
		struct json_object *p = json_object_new_object();

		if (!p || json_object_object_add(p, "interface", json_object_new_string(name)) < 0) {
			json_object_put(p);
			return -ENOMEM;
		}
		return request_error(req, "org.varlink.service.InterfaceNotFound", p);
	}
	reply = json_object_new_object();
	if (!reply || json_object_object_add(reply, "description",
					     json_object_new_string(proto_idl_text(idl))) < 0) {
		json_object_put(reply);
		return -ENOMEM;
	}
	return request_reply(req, reply);
}

const struct method method_service_get_info = {
	.name = "org.varlink.service.GetInfo",
	.handler = service_get_info,
};

const struct method method_service_get_interface_description = {
	.name = "org.varlink.service.GetInterfaceDescription",
	.handler = service_get_interface_description,
};
