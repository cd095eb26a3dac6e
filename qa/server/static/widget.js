/* qa widget (work in progress) */
