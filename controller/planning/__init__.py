"""What should air: the plan of airings with blackouts applied, what is due now, the priority
ladder. Pure.
"""
