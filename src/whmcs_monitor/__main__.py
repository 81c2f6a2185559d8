from whmcs_monitor.cli import main

main()
