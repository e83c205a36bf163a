package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// okOutput is what a script (by name) or command printed when it worked.
func okOutput(script string, cmd commandDef, desk string, r *rand.Rand) string {
	switch script {
	case "install-crowdstrike-agent":
		return fmt.Sprintf("Downloading WindowsSensor_7.14.18408.exe from https://repo.corp.example/falcon/ (68.2 MB)\n"+
			"SHA256 verified: %016x\nInstalling CrowdStrike Falcon Sensor 7.14.18408 on %s\n"+
			"Service CSFalconService: Running\nExit code: 0", r.Uint64(), desk)
	case "clean-temp-disk":
		return fmt.Sprintf("Removed %d files (%.1f GB) from C:\\Windows\\Temp and C:\\Users\\*\\AppData\\Local\\Temp\n"+
			"Free space on C: %.1f GB\nExit code: 0", 200+r.IntN(3000), 0.1+r.Float64()*4, 20+r.Float64()*60)
	case "rotate-cert":
		return fmt.Sprintf("Imported certificate CN=vpn.corp.example (thumbprint %016X) into Cert:\\LocalMachine\\My\n"+
			"Removed 1 expired certificate\nExit code: 0", r.Uint64())
	case "update-chrome":
		return "Google Chrome 131.0.6778.86 -> 131.0.6778.109\nUpdate installed, restart pending for 2 user sessions\nExit code: 0"
	case "<!channel> alert":
		return "alert hook: nothing to report\nExit code: 0"
	case "collect-diagnostics":
		return diagnostics(desk, r)
	case "set-timezone":
		return "tzutil /s \"W. Europe Standard Time\"\nCurrent time zone: W. Europe Standard Time\nExit code: 0"
	case "patch-openssl":
		return "Reading package lists...\nThe following packages will be upgraded:\n  libssl3 openssl\n" +
			"2 upgraded, 0 newly installed, 0 to remove and 14 not upgraded.\nSetting up openssl (3.0.13-0ubuntu3.4) ...\nexit status 0"
	case "configure-sssd":
		return "sssd.conf updated (domains = corp.example)\nsssd.service: active (running)\nexit status 0"
	case "rotate-cert-linux":
		return "installed /usr/local/share/ca-certificates/corp-root-2026.crt\nUpdating certificates in /etc/ssl/certs...\n1 added, 1 removed; done.\nexit status 0"
	}
	switch cmd.typ {
	case "BAT":
		if strings.HasPrefix(cmd.content, "sc ") {
			return "SERVICE_NAME: CSFalconService\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : 4  RUNNING\n        WIN32_EXIT_CODE    : 0  (0x0)"
		}
		return "Windows IP Configuration\n\nSuccessfully flushed the DNS Resolver Cache.\nUpdating policy...\n\n" +
			"Computer Policy update has completed successfully.\nUser Policy update has completed successfully."
	case "SHELL":
		if strings.HasPrefix(cmd.content, "df ") {
			return fmt.Sprintf("Filesystem      Size  Used Avail Use%% Mounted on\n/dev/vda1        80G   %dG   %dG  %d%% /\nVacuuming done, freed 412.0M of archived journals.", 30+r.IntN(30), 20+r.IntN(20), 40+r.IntN(50))
		}
		return "active"
	default:
		return "\nStatus   Name               DisplayName\n------   ----               -----------\nRunning  CSFalconService    CrowdStrike Falcon Sensor Service"
	}
}

// failOutput is what a script or command printed when it failed.
func failOutput(script string, cmd commandDef, linux bool, desk string, mode failMode, r *rand.Rand) string {
	switch mode {
	case failOffline:
		return ""
	case failTimeout:
		var b strings.Builder
		fmt.Fprintf(&b, "[%s] started\n", desk)
		for i := range 3 + r.IntN(4) {
			fmt.Fprintf(&b, "step %d: waiting for lock on C:\\ProgramData\\Workspace\\agent.lock ...\n", i+1)
		}
		b.WriteString("[workspace-agent] Script execution timed out after 600s and was terminated.")
		return b.String()
	}
	switch script {
	case "install-crowdstrike-agent":
		return "Install-Package : Failed to install 'WindowsSensor_7.14.18408.exe': the installer returned 1603.\n" +
			"At C:\\ProgramData\\Workspace\\scripts\\install-crowdstrike-agent.ps1:42 char:5\n" +
			"+     Install-Package -Path $installer -ArgumentList '/install /quiet CID=$cid'\n" +
			"+     ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" +
			"    + CategoryInfo          : InvalidOperation: (:) [Install-Package], Exception\n" +
			"    + FullyQualifiedErrorId : InstallFailed,Install-Package\n" +
			"MSI log: C:\\Windows\\Temp\\CSFalcon_install.log (Error 1722: a program run as part of the setup did not finish as expected)\n" +
			"Exit code: 1603"
	case "clean-temp-disk":
		return "Remove-Item : Access to the path 'C:\\Windows\\Temp\\MpCmdRun.log' is denied.\n" +
			"At C:\\ProgramData\\Workspace\\scripts\\clean-temp-disk.ps1:17 char:9\n" +
			"+         Remove-Item $_.FullName -Force -Recurse\n" +
			"+         ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" +
			"    + CategoryInfo          : PermissionDenied: (C:\\Windows\\Temp\\MpCmdRun.log:FileInfo) [Remove-Item], UnauthorizedAccessException\n" +
			"    + FullyQualifiedErrorId : RemoveFileSystemItemUnAuthorizedAccess,Microsoft.PowerShell.Commands.RemoveItemCommand\n" +
			"Exit code: 1"
	case "rotate-cert", "rotate-cert-linux":
		return certDump(desk, linux, r)
	case "update-chrome":
		return "GoogleUpdate.exe /silent /install: error 0x80040c01 (no network connection to update server)\nExit code: 1"
	case "<!channel> alert":
		return "ALERT <!channel>: disk C: is 97% full on " + desk + "\n" +
			"paging on-call <@U123> and <!here>, see <https://evil.example|the runbook>\n" +
			"*bold* _italic_ ~strike~ `code` & <b>html</b>\nExit code: 1"
	case "set-timezone":
		return "tzutil : Invalid time zone ID 'Central Europe Standard Time '.\nExit code: 1"
	case "patch-openssl":
		return "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2143 (unattended-upgr)\n" +
			"N: Be aware that removing the lock file is not a solution and may break your system.\n" +
			"E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\nexit status 100"
	case "configure-sssd":
		return "Job for sssd.service failed because the control process exited with error code.\n" +
			"See \"systemctl status sssd.service\" and \"journalctl -xeu sssd.service\" for details.\nexit status 1"
	}
	switch cmd.typ {
	case "BAT":
		return "[SC] OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\nexit code 1"
	case "SHELL":
		return "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nexit status 1"
	default:
		return "Restart-Service : Cannot find any service with service name 'CSFalconService'.\n" +
			"At line:1 char:1\n+ Restart-Service -Name CSFalconService -Force; Get-Service -Name CSFalc ...\n" +
			"+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" +
			"    + CategoryInfo          : ObjectNotFound: (CSFalconService:String) [Restart-Service], ServiceCommandException\n" +
			"Exit code: 1"
	}
}

// certDump is a long failure output (more than 3000 characters).
func certDump(desk string, linux bool, r *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Rotating certificates on %s\n", desk)
	for i := range 40 {
		fmt.Fprintf(&b, "  cert %02d: CN=svc%02d.corp.example, serial %016X, NotAfter 2026-0%d-1%d, status OK\n", i+1, i+1, r.Uint64(), 1+i%9, i%10)
	}
	if linux {
		b.WriteString("update-ca-certificates: error: /usr/local/share/ca-certificates/corp-root-2026.crt: unable to load certificate\n" +
			"  140245936543552:error:0909006C:PEM routines:get_name:no start line:../crypto/pem/pem_lib.c:745:Expecting: TRUSTED CERTIFICATE\nexit status 1")
	} else {
		b.WriteString("Import-PfxCertificate : The PFX file could not be found or the password is incorrect (0x80070056).\n" +
			"At C:\\ProgramData\\Workspace\\scripts\\rotate-cert.ps1:88 char:1\nExit code: 1")
	}
	return b.String()
}

// diagnostics is a long success output (more than 3000 characters).
func diagnostics(desk string, r *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Collecting diagnostics on %s\n", desk)
	for i := range 45 {
		fmt.Fprintf(&b, "  [%02d] %-28s %6d KB  sha1=%016x\n", i+1, fmt.Sprintf("eventlog-%02d.evtx", i), 64+r.IntN(4096), r.Uint64())
	}
	b.WriteString("Archive uploaded to obs://diag-bucket/" + desk + ".zip\nExit code: 0")
	return b.String()
}
