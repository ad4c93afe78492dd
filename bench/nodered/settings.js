// Node-RED's settings for the bench (bench/peers.py): headless, quiet, nothing kept.
// Started as `node red.js --settings settings.js --userDir <temp> --port <free> <flow>`.
const net = require("net");

// MQTT.js opens its socket with net.createConnection and never sets TCP_NODELAY, which the
// paho floor and vipctl both set: without it a QoS 1 receive-and-publish waits on Nagle's
// algorithm and the broker's delayed ACK (tens of ms). Set it on every socket this process
// opens, so that the three are compared on the same socket options.
const createConnection = net.createConnection;
net.createConnection = function (...args) {
    return createConnection.apply(this, args).setNoDelay(true);
};

module.exports = {
    // No editor, no admin API and no HTTP nodes: with both roots false Node-RED opens no
    // HTTP port at all ("headless mode"), and the flow file is never written back.
    httpAdminRoot: false,
    httpNodeRoot: false,
    uiHost: "127.0.0.1",
    credentialSecret: false,
    flowFilePretty: true,
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false },
                       modules: { allowInstall: false } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    functionGlobalContext: {},
};
