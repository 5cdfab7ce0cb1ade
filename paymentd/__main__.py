from paymentd.cli import main

raise SystemExit(main())
