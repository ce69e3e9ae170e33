//! The login part of the MQTT options: credentials, and the TLS transport of an `mqtts://` URL,
//! built with the same rustls configuration as the native client's (`vmm_engine::tls`).

use crate::config::login::BrokerUrl;
use crate::config::MqttLogin;
use crate::error::{Error, Result};
use rumqttc::{MqttOptions, TlsConfiguration, Transport};

/// Sets the user name, the password and, for `mqtts://`, the TLS transport.
pub(crate) fn apply(options: &mut MqttOptions, url: &BrokerUrl, login: &MqttLogin) -> Result<()> {
    if let Some(user) = &login.mqtt_username {
        let password = login.mqtt_password.as_ref().map_or("", |p| p.expose());
        options.set_credentials(user.clone(), password.to_string());
    }
    if url.tls {
        let config = vmm_engine::tls::client_config(&login.tls_files())
            .map_err(|e| Error::Config(format!("TLS for the MQTT connection: {e}")))?;
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
    }
    Ok(())
}

/// A connection error as the operator should read it: a failed TLS handshake says so, a refused
/// login says what to check.
pub(crate) fn explain(error: &rumqttc::ConnectionError) -> String {
    use rumqttc::{ConnectReturnCode, ConnectionError};
    match error {
        ConnectionError::Tls(e) => format!("TLS handshake failed: {e}"),
        // Mosquitto answers a wrong password with "not authorised" (MQTT 3.1.1 code 5), as it
        // does a client id outside the user's namespace (PROTOCOL §2.3).
        ConnectionError::ConnectionRefused(
            code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized),
        ) => format!(
            "the broker refused the login ({code:?}): check the user name and password, and that the client id \
             (--bridge-id) is the user name or starts with `<user name>:`"
        ),
        e => e.to_string(),
    }
}
