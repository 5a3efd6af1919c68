"""Lead-time simulation on the real diagrams (issue 18).

Pure application core: no HTTP, no database. ``settings`` reads the settings file,
``distributions`` draws service times and field values, ``engine/worktime.py`` counts working time on the
service's own Chinese calendar, ``formdata`` fills the real forms, ``runner`` drives the real engine
(engine/workflow/runtime.py) with a discrete-event loop on a simulated clock, ``results`` aggregates and
writes JSON/CSV, ``parallel`` runs replications in worker processes, ``before_after`` compares the reform and sequential diagrams, ``plots`` draws with matplotlib (optional extra ``sim``), ``engine/reports/lead_time.py`` computes the
same figures from the audit trail of live cases, ``calibrate`` fits service times to them and
``cli`` is ``siji simulate``. docs/SIMULATION.md explains the method.
"""
