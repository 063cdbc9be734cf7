// Node-RED settings for bench/peer/run.py: headless (no editor, no HTTP nodes), the flow file next to
// this one, logs to stdout at "warn". The user directory is a temporary one given with --userDir.
module.exports = {
    flowFile: require("path").join(__dirname, "flow.json"),
    flowFilePretty: true,
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: false,
    uiHost: "127.0.0.1",
    uiPort: 0,
    disableEditor: true,
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    telemetry: { enabled: false },
    logging: { console: { level: "warn", metrics: false, audit: false } },
    functionExternalModules: false,
    nodesDir: null,
};
