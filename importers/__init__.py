"""Bring outside data in: the Centres of Vocational Excellence, the Erasmus+ project export, the demo data set."""
